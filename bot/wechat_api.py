"""An async client for the WeChat APIs the bot calls: access token and customer service.

Why not wechatpy's ``WeChatClient``: it is synchronous (requests) and would block the
event loop; these few endpoints are small enough to call with aiohttp directly.
:class:`OnlineAgents` is the dialogue's agent directory over one of them
(``customservice/getonlinekflist``, wechatpy's ``get_online_accounts``).

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

from wxloan.storage import StoreBackend

__all__ = ["AGENT_CHECK_SECONDS", "ApiError", "ApiResult", "OnlineAgents", "WeChatApi"]

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
        store: StoreBackend,
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
        # one refresh in flight in this process, and (PostgreSQL) across every node: the
        # others wait, then find the new token in the shared cache
        async with self._refresh_lock, self._store.token_refresh(self.app_id):
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

    async def call_with_token(
        self, method: str, path: str, body: Mapping[str, Any] | None = None
    ) -> Mapping[str, Any]:
        """Call ``path`` with the access token, applying WeChat's retry rules; its JSON."""
        token = await self.token()
        refreshed = False
        busy_left = self._busy_retries
        delay = self._backoff
        while True:
            extra: dict[str, Any] = {} if body is None else {"json": body}
            data = await self._call(method, path, params={"access_token": token}, **extra)
            errcode = _errcode(data)
            if errcode in TOKEN_INVALID and not refreshed:
                token = await self.token(force=True, stale=token)
                refreshed = True
                continue
            if errcode == BUSY and busy_left > 0:
                busy_left -= 1
                await asyncio.sleep(delay)
                delay *= 2
                continue
            return data

    async def post_with_token(self, path: str, body: Mapping[str, Any]) -> ApiResult:
        """POST ``body`` with the access token, applying WeChat's retry rules."""
        data = await self.call_with_token("POST", path, body)
        return ApiResult(_errcode(data), str(data.get("errmsg", "")))

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

    async def online_agents(self) -> int:
        """``customservice/getonlinekflist``: how many human agents are online now.

        Each entry of ``kf_online_list`` has a ``status`` (1 web, 2 mobile, 3 both).

        :raises ApiError: WeChat refused (an errcode) or answered without the list.
        """
        data = await self.call_with_token("GET", "/cgi-bin/customservice/getonlinekflist")
        errcode = _errcode(data)
        if errcode:
            raise ApiError(f"getonlinekflist: errcode {errcode}")
        listed = data.get("kf_online_list")
        if not isinstance(listed, list):
            raise ApiError("getonlinekflist: no kf_online_list")
        return sum(1 for agent in listed if isinstance(agent, dict) and _online(agent))


def _errcode(data: Mapping[str, Any]) -> int:
    return int(data.get("errcode", 0))


def _online(agent: Mapping[str, Any]) -> bool:
    """An entry of ``kf_online_list`` whose ``status`` says it is reachable (1, 2 or 3)."""
    status = agent.get("status")
    return isinstance(status, int) and not isinstance(status, bool) and status > 0


#: The longest the hand-off waits to learn whether an agent is online (inside WeChat's
#: 5-second reply window): past it, the dialogue is told "cannot tell".
AGENT_CHECK_SECONDS = 2.0


class OnlineAgents:
    """The dialogue's agent directory (``handlers.services.AgentDirectory``) over WeChat.

    Why bound late: the dialogue is built with the app, the API client only when the
    HTTP session starts (``bot.app``); until :meth:`bind` (and with no AppSecret) it
    cannot tell. Only the Official Account has an online list, so other channels cannot
    tell either.
    """

    def __init__(self, channel: str, timeout: float = AGENT_CHECK_SECONDS) -> None:
        self.channel = channel
        self.timeout = timeout
        self._api: WeChatApi | None = None

    def bind(self, api: WeChatApi | None) -> None:
        """Ask through ``api`` from now on (None: cannot tell again, e.g. at shutdown)."""
        self._api = api

    async def online_count(self, channel: str) -> int | None:
        """Agents online for ``channel``; None when there is no API or it failed."""
        api = self._api
        if api is None or channel != self.channel:
            return None
        try:
            return await asyncio.wait_for(api.online_agents(), self.timeout)
        except (ApiError, asyncio.TimeoutError, TypeError, ValueError) as exc:
            log.warning("online agents unknown",
                        extra={"fields": {"app_id": api.app_id, "error": str(exc) or
                                          type(exc).__name__}})
            return None
