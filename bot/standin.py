"""A local stand-in for WeChat's server API, for tests and the simulator.

It implements just what wxloan calls — ``stable_token``, ``token``, customer-service
``send`` and ``typing``, ``menu/create`` and ``customservice/getonlinekflist`` — with
WeChat's error codes, and it can be told to misbehave (expire every token, answer ``-1``
busy, refuse with ``45047``, fail the online list), so the outbound client's retry rules
are tested against a real HTTP server. One agent is online unless a test says otherwise
(:meth:`StandIn.set_agents_online`), as on an account with a person on duty.

Start it with :func:`create_standin_app`; point ``WECHAT_API_BASE`` at it.
"""

from __future__ import annotations

import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

__all__ = ["STANDIN", "SentMessage", "StandIn", "create_standin_app"]


@dataclass(frozen=True, slots=True)
class SentMessage:
    """One customer-service message the stand-in accepted."""

    app_id: str
    touser: str
    msgtype: str
    body: dict[str, Any]
    at: float


@dataclass
class StandIn:
    """State of the stand-in: known apps, issued tokens, what was sent, scripted faults.

    :param apps: AppID → AppSecret accepted by the token endpoints.
    :param token_ttl: ``expires_in`` of issued tokens (WeChat: 7200).
    """

    apps: dict[str, str] = field(default_factory=dict)
    token_ttl: int = 7200
    clock: Callable[[], float] = time.time
    tokens: dict[str, tuple[str, float]] = field(default_factory=dict)
    sent: list[SentMessage] = field(default_factory=list)
    typing: list[tuple[str, str]] = field(default_factory=list)
    menus: list[dict[str, Any]] = field(default_factory=list)
    token_requests: int = 0
    send_attempts: int = 0
    faults: deque[int] = field(default_factory=deque)
    #: agents ``getonlinekflist`` lists as online; ``agents_fault``: the errcode it
    #: answers instead (e.g. 48001, API unauthorised), None for a normal answer
    agents_online: int = 1
    agents_fault: int | None = None
    agent_checks: int = 0

    def set_agents_online(self, count: int) -> None:
        """``getonlinekflist`` lists ``count`` agents from now on (0: nobody on duty)."""
        self.agents_online = count

    def fail_agent_checks(self, errcode: int | None) -> None:
        """``getonlinekflist`` answers ``errcode`` from now on (None: answer normally)."""
        self.agents_fault = errcode

    def fail_next_sends(self, errcode: int, times: int = 1) -> None:
        """The next ``times`` send calls answer ``errcode`` (e.g. -1, 45047)."""
        self.faults.extend([errcode] * times)

    def expire_tokens(self) -> None:
        """Every issued token becomes invalid (WeChat answers 40001/42001)."""
        self.tokens.clear()

    def texts_to(self, openid: str) -> list[str]:
        """Texts sent to ``openid``, in the order the stand-in received them."""
        return [m.body["text"]["content"] for m in self.sent
                if m.touser == openid and m.msgtype == "text"]

    def _issue(self, app_id: str) -> dict[str, Any]:
        self.token_requests += 1
        token = "tok_" + secrets.token_hex(8)
        self.tokens[token] = (app_id, self.clock() + self.token_ttl)
        return {"access_token": token, "expires_in": self.token_ttl}

    def _app_for(self, token: str) -> str | None:
        issued = self.tokens.get(token)
        if issued is None or issued[1] <= self.clock():
            return None
        return issued[0]


STANDIN = web.AppKey("standin", StandIn)


def _error(errcode: int, errmsg: str) -> web.Response:
    return web.json_response({"errcode": errcode, "errmsg": errmsg})


async def _stable_token(request: web.Request) -> web.Response:
    state = request.app[STANDIN]
    body = await request.json()
    app_id, secret = str(body.get("appid", "")), str(body.get("secret", ""))
    if state.apps.get(app_id) != secret:
        return _error(40125, "invalid appsecret")
    return web.json_response(state._issue(app_id))


async def _token(request: web.Request) -> web.Response:
    state = request.app[STANDIN]
    app_id, secret = request.query.get("appid", ""), request.query.get("secret", "")
    if state.apps.get(app_id) != secret:
        return _error(40125, "invalid appsecret")
    return web.json_response(state._issue(app_id))


def _authorised(request: web.Request) -> str | web.Response:
    state = request.app[STANDIN]
    app_id = state._app_for(request.query.get("access_token", ""))
    if app_id is None:
        return _error(40001, "invalid credential, access_token is invalid or not latest")
    return app_id


async def _custom_send(request: web.Request) -> web.Response:
    state = request.app[STANDIN]
    app_id = _authorised(request)
    if isinstance(app_id, web.Response):
        return app_id
    state.send_attempts += 1
    body = await request.json()
    if state.faults:
        errcode = state.faults.popleft()
        return _error(errcode, "scripted fault")
    state.sent.append(SentMessage(app_id, str(body.get("touser", "")),
                                  str(body.get("msgtype", "")), body, state.clock()))
    return _error(0, "ok")


async def _custom_typing(request: web.Request) -> web.Response:
    app_id = _authorised(request)
    if isinstance(app_id, web.Response):
        return app_id
    body = await request.json()
    request.app[STANDIN].typing.append((str(body.get("touser", "")), str(body.get("command"))))
    return _error(0, "ok")


async def _menu_create(request: web.Request) -> web.Response:
    app_id = _authorised(request)
    if isinstance(app_id, web.Response):
        return app_id
    body = await request.json()
    if not isinstance(body.get("button"), list) or not 1 <= len(body["button"]) <= 3:
        return _error(40016, "invalid button size")
    request.app[STANDIN].menus.append(body)
    return _error(0, "ok")


async def _online_agents(request: web.Request) -> web.Response:
    state = request.app[STANDIN]
    app_id = _authorised(request)
    if isinstance(app_id, web.Response):
        return app_id
    state.agent_checks += 1
    if state.agents_fault is not None:
        return _error(state.agents_fault, "scripted fault")
    agents = [
        {"kf_account": f"kf{n}@standin", "kf_id": str(1001 + n), "status": 1,
         "accepted_case": 0}
        for n in range(state.agents_online)
    ]
    return web.json_response({"kf_online_list": agents})


def create_standin_app(state: StandIn | None = None) -> web.Application:
    """An aiohttp app answering like WeChat's API for the apps in ``state``."""
    app = web.Application()
    app[STANDIN] = state or StandIn()
    app.router.add_post("/cgi-bin/stable_token", _stable_token)
    app.router.add_get("/cgi-bin/token", _token)
    app.router.add_post("/cgi-bin/message/custom/send", _custom_send)
    app.router.add_post("/cgi-bin/message/custom/typing", _custom_typing)
    app.router.add_post("/cgi-bin/menu/create", _menu_create)
    app.router.add_get("/cgi-bin/customservice/getonlinekflist", _online_agents)
    return app
