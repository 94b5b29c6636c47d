"""An async client for the WeChat APIs the bot calls: access token and customer service.

Why not wechatpy's ``WeChatClient``: it is synchronous (requests) and would block the
event loop; these three endpoints are small enough to call with aiohttp directly.

Error handling follows WeChat's documented codes:

* ``40001``/``40014``/``42001`` (token invalid or expired) → refresh the token once, retry;
* ``-1`` (system busy) → retry with exponential backoff;
* ``45015``/``45047`` (outside the 48-hour window / over the quota) → give up, no retry.

The access token is cached in SQLite with its expiry, so every request and every worker
process shares one; only one refresh per app is in flight at a time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from wxloan.storage import Store

__all__ = ["ApiError", "ApiResult", "WeChatApi"]

log = logging.getLogger("wxloan.api")

TOKEN_INVALID = frozenset({40001, 40014, 42001})
BUSY = -1
NO_RETRY = frozenset({45015, 45047})
#: Refresh a cached token this many seconds before WeChat says it expires.
TOKEN_MARGIN = 300.0


class ApiError(Exception):
    """WeChat's API could not be reached or answered something unreadable."""


@dataclass(frozen=True, slots=True)
class ApiResult:
    """WeChat's answer: ``errcode`` 0 means done."""

    errcode: int
    errmsg: str = ""

    @property
    def ok(self) -> bool:
        return self.errcode == 0


class WeChatApi:
    """Token management and customer-service calls for one AppID."""

    def __init__(
        self,
        *,
        session: aiohttp.ClientSession,
        store: Store,
        api_base: str,
        app_id: str,
        app_secret: str,
        clock: Callable[[], float],
        busy_retries: int = 3,
        backoff: float = 0.2,
    ) -> None:
        self.app_id = app_id
        self._secret = app_secret
        self._session = session
        self._store = store
        self._base = api_base.rstrip("/")
        self._clock = clock
        self._busy_retries = busy_retries
        self._backoff = backoff
        self._refresh_lock = asyncio.Lock()

    # -- access token ---------------------------------------------------------------

    async def token(self, *, force: bool = False, stale: str | None = None) -> str:
        """A valid access token; refreshed when missing, expiring, or ``force``d.

        :param stale: the token a call was just refused with; if the cache already
            holds another one (someone else refreshed), that one is used.
        """
        cached = await self._store.get_token(self.app_id)
        if cached and not force and cached[1] - TOKEN_MARGIN > self._clock():
            return cached[0]
        async with self._refresh_lock:
            cached = await self._store.get_token(self.app_id)
            now = self._clock()
            if cached and cached[1] - TOKEN_MARGIN > now:
                if not force or (stale is not None and cached[0] != stale):
                    return cached[0]
            token, expires_in = await self._fetch_token(force)
            await self._store.save_token(self.app_id, token, now + expires_in, now)
            log.info("access token refreshed", extra={"fields": {"app_id": self.app_id,
                                                                 "expires_in": expires_in}})
            return token

    async def _fetch_token(self, force: bool) -> tuple[str, float]:
        body = {
            "grant_type": "client_credential",
            "appid": self.app_id,
            "secret": self._secret,
            "force_refresh": False,
        }
        try:
            data = await self._call("POST", "/cgi-bin/stable_token", json=body)
        except ApiError:
            data = {}
        if "access_token" not in data:
            # Fall back to the classic endpoint (older proxies, or stable_token refused).
            params = {"grant_type": "client_credential", "appid": self.app_id,
                      "secret": self._secret}
            data = await self._call("GET", "/cgi-bin/token", params=params)
        if "access_token" not in data:
            raise ApiError(f"no access token: errcode {data.get('errcode')}")
        return str(data["access_token"]), float(data.get("expires_in", 7200))

    # -- calls ----------------------------------------------------------------------

    async def _call(self, method: str, path: str, **kwargs: Any) -> Mapping[str, Any]:
        try:
            async with self._session.request(method, self._base + path, **kwargs) as resp:
                if resp.status != 200:
                    raise ApiError(f"{path}: HTTP {resp.status}")
                data = await resp.json(content_type=None)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            raise ApiError(f"{path}: {type(exc).__name__}") from exc
        if not isinstance(data, dict):
            raise ApiError(f"{path}: not a JSON object")
        return data

    async def post_with_token(self, path: str, body: Mapping[str, Any]) -> ApiResult:
        """POST ``body`` with the access token, applying WeChat's retry rules."""
        token = await self.token()
        refreshed = False
        busy_left = self._busy_retries
        delay = self._backoff
        while True:
            data = await self._call("POST", path, params={"access_token": token}, json=body)
            result = ApiResult(int(data.get("errcode", 0)), str(data.get("errmsg", "")))
            if result.errcode in TOKEN_INVALID and not refreshed:
                token = await self.token(force=True, stale=token)
                refreshed = True
                continue
            if result.errcode == BUSY and busy_left > 0:
                busy_left -= 1
                await asyncio.sleep(delay)
                delay *= 2
                continue
            return result

    async def send_text(self, openid: str, text: str) -> ApiResult:
        """``message/custom/send`` with a text message."""
        body = {"touser": openid, "msgtype": "text", "text": {"content": text}}
        return await self.post_with_token("/cgi-bin/message/custom/send", body)

    async def typing(self, openid: str) -> ApiResult:
        """``message/custom/typing``: show "typing…" while the answer is prepared."""
        body = {"touser": openid, "command": "Typing"}
        return await self.post_with_token("/cgi-bin/message/custom/typing", body)

    async def create_menu(self, menu: Mapping[str, Any]) -> ApiResult:
        """``menu/create`` (Official Account custom menu)."""
        return await self.post_with_token("/cgi-bin/menu/create", menu)
