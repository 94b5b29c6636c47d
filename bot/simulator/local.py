"""An in-process webhook plus a stand-in WeChat API, on free loopback ports.

Used by ``wxloan chat`` (when no ``--url`` is given) and ``wxloan simulate``: every
message still goes through real signed HTTP, exactly as WeChat would send it.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from ..app import create_app
from ..config import Settings
from ..standin import StandIn, create_standin_app

__all__ = ["LocalBot", "local_bot", "random_aes_key"]


def random_aes_key() -> str:
    """A fresh 43-character EncodingAESKey, as the WeChat console generates."""
    return base64.b64encode(secrets.token_bytes(32)).decode().rstrip("=")


@dataclass(frozen=True, slots=True)
class LocalBot:
    """Where the local webhook listens, its settings, and the stand-in API's state."""

    base_url: str
    api_url: str
    settings: Settings
    standin: StandIn


async def _start(app: web.Application, host: str = "127.0.0.1", port: int = 0) -> tuple[
        web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1]
    return runner, f"http://{host}:{bound}"


@asynccontextmanager
async def local_bot(db_path: Path, *, deadline: float = 4.5) -> AsyncIterator[LocalBot]:
    """Run a wxloan webhook (both channels, safe mode available) and a stand-in API."""
    oa_app, oa_secret = "wxsim" + secrets.token_hex(6), secrets.token_hex(16)
    mp_app, mp_secret = "wxsimmp" + secrets.token_hex(5), secrets.token_hex(16)
    standin = StandIn(apps={oa_app: oa_secret, mp_app: mp_secret})
    api_runner, api_url = await _start(create_standin_app(standin))
    settings = Settings(
        token=secrets.token_urlsafe(16), app_id=oa_app, app_secret=oa_secret,
        aes_key=random_aes_key(), api_base=api_url, db_path=db_path,
        wxa_token=secrets.token_urlsafe(16), wxa_app_id=mp_app, wxa_app_secret=mp_secret,
        wxa_aes_key=random_aes_key(), reply_deadline=deadline,
    )
    bot_runner, base_url = await _start(create_app(settings))
    try:
        yield LocalBot(base_url, api_url, settings, standin)
    finally:
        await bot_runner.cleanup()
        await api_runner.cleanup()
