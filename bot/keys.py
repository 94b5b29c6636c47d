"""Every typed application key, declared once (aiohttp ``AppKey``)."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from wxloan.storage import StoreBackend

from .config import Settings
from .pipeline import Pipeline

__all__ = ["CLOCK", "PIPELINE", "REQUEST_ID", "SETTINGS", "STORE"]

SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", StoreBackend)
PIPELINE = web.AppKey("pipeline", Pipeline)
CLOCK: web.AppKey[Callable[[], float]] = web.AppKey("clock")

#: A short random id per request, in every log line about it.
REQUEST_ID = web.RequestKey("request_id", str)
