"""Every typed application key, declared once (aiohttp ``AppKey``)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from aiohttp import web

from wxloan.storage import StoreBackend

from .config import Settings
from .pipeline import Pipeline

__all__ = ["CLOCK", "PIPELINE", "RELOAD", "REQUEST_ID", "SETTINGS", "STORE"]

SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", StoreBackend)
PIPELINE = web.AppKey("pipeline", Pipeline)
CLOCK: web.AppKey[Callable[[], float]] = web.AppKey("clock")
#: reload the knowledge data (SIGHUP): True when the new data is in use
RELOAD: web.AppKey[Callable[[], Coroutine[Any, Any, bool]]] = web.AppKey("reload")

#: A short random id per request, in every log line about it.
REQUEST_ID = web.RequestKey("request_id", str)
