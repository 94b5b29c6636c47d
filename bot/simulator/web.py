"""``wxloan simulate``: a WeChat-like chat window in the browser, driving a wxloan webhook.

The page (``page/``: one Jinja template, one stylesheet, one script; no framework, no
CDN) talks to a small JSON API served by the same aiohttp app. Every message the page
sends goes through the real webhook path: :class:`~.protocol.PushBuilder` signs (and in
compatible/safe mode encrypts) a push with the webhook's credentials and
:class:`~.client.WebhookClient` POSTs it to ``/wechat`` or ``/miniprogram``. Answers that
WeChat would deliver through the customer-service API (every mini-program answer, Official
Account deadline fallbacks, hand-off notes) are read back from the stand-in API of the
built-in bot; with ``--url`` (a running ``wxloan serve``, :class:`Backend`) there is no
stand-in, and the page says so instead of waiting for them.

Routes:

* ``GET /`` — the chat page;
* ``POST /api/send`` — ``{openid, kind, text, key, mode, channel, format}`` with ``kind``
  one of ``text``, ``click``, ``subscribe``, ``image``, ``retry``; answers the decoded
  reply, its latency, the customer-service messages that arrived meanwhile, and
  ``inspect``: the request and the reply on the wire and in plaintext, with timings;
* ``GET /api/inbox?openid=…&after=N`` — customer-service messages to ``openid`` after the
  first ``N`` the stand-in received (``cursor`` in the answer is the next ``N``);
* ``POST /api/reset`` — a new user (fresh openid);
* ``GET /api/transcript?openid=…`` — the session as a conversation-test YAML download.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import secrets
import signal
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import aiohttp
import jinja2
from aiohttp import web

from wxloan.handlers.menu import load_menu

from ..errors import ConfigError
from ..standin import SentMessage, StandIn
from .client import Exchange, WebhookClient
from .local import LocalBot, local_bot
from .protocol import PushBuilder
from .remote import remote_webhook, unreachable
from .transcript import Recorder

__all__ = ["PAGE_DIR", "SLOW_MS", "Backend", "create_simulator_app", "run_simulator"]

#: The page's template, stylesheet and script.
PAGE_DIR = Path(__file__).with_name("page")
#: A reply slower than this (ms) is flagged: WeChat gives up after 5 s.
SLOW_MS = 4000.0
#: How long ``/api/send`` waits for customer-service messages after a ``success`` reply.
INBOX_WAIT = 5.0
#: After the first customer-service message, how long a quiet spell ends the wait.
INBOX_QUIET = 0.3

MODES = ("plain", "compat", "safe")
CHANNELS = ("oa", "mp")
FORMATS = ("xml", "json")
KINDS = ("text", "click", "subscribe", "image", "retry")
MAX_TEXT = 2000
_OPENID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_STATIC = {"style.css": "text/css", "app.js": "text/javascript"}
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def new_openid() -> str:
    """A fresh simulated user."""
    return "o_sim_" + secrets.token_hex(6)


@dataclass
class _Push:
    """What :meth:`Simulator.retry` needs to resend a push byte-for-byte equivalent."""

    url: str
    builder: PushBuilder
    fields: dict[str, Any]
    channel: str


@dataclass
class _User:
    """One simulated user: their transcript, their pushes, their last push for retry."""

    openid: str
    recorder: Recorder = field(
        default_factory=lambda: Recorder(name="recorded with wxloan simulate")
    )
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    started: list[float] = field(default_factory=list)
    last: _Push | None = None


@dataclass(frozen=True, slots=True)
class Backend:
    """Where the pushes go: a webhook URL and credentials per channel.

    ``standin`` is the stand-in WeChat API of a built-in bot, where customer-service
    messages are read back; a running ``wxloan serve`` (``--url``) has none.
    """

    webhooks: dict[str, tuple[str, PushBuilder]]
    standin: StandIn | None = None
    oa_app_id: str = ""

    @classmethod
    def local(cls, bot: LocalBot) -> Backend:
        """Both channels of the built-in bot, read back through its stand-in API."""
        s = bot.settings
        oa = PushBuilder(s.token, s.app_id, s.aes_key)
        mp = PushBuilder(s.wxa_token, s.wxa_app_id, s.wxa_aes_key, account="gh_simulator_mp")
        return cls({"oa": (bot.base_url + "/wechat", oa), "mp": (bot.base_url + "/miniprogram", mp)},
                   bot.standin, s.app_id)

    @classmethod
    def remote(cls, url: str, builder: PushBuilder) -> Backend:
        """One webhook: the mini-program's when the path ends in ``/miniprogram``."""
        channel = "mp" if url.rstrip("/").endswith("/miniprogram") else "oa"
        return cls({channel: (url, builder)})

    @property
    def is_remote(self) -> bool:
        return self.standin is None

    @property
    def sent(self) -> list[SentMessage]:
        """The customer-service messages the stand-in accepted (none when remote)."""
        return [] if self.standin is None else list(self.standin.sent)

    def modes(self, channel: str) -> tuple[str, ...]:
        """The encryption modes ``channel`` can use: all of them with an EncodingAESKey."""
        return MODES if self.webhooks[channel][1].aes_key else ("plain",)

    @property
    def default_mode(self) -> str:
        """The page's first mode: plaintext locally, the chat's default when remote."""
        if not self.is_remote:
            return "plain"
        return next(iter(self.webhooks.values()))[1].mode


class SimulatorError(ValueError):
    """A bad API request (answered 400 with the message)."""

    status = 400


class WebhookUnreachable(SimulatorError):
    """The webhook under test cannot be reached (answered 502)."""

    status = 502


class Simulator:
    """The simulator's state: where pushes go, one HTTP session, the simulated users."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.users: dict[str, _User] = {}
        self._http: aiohttp.ClientSession | None = None

    @property
    def http(self) -> aiohttp.ClientSession:
        if self._http is None:
            raise RuntimeError("the simulator app is not started")
        return self._http

    def user(self, openid: str) -> _User:
        if not _OPENID.match(openid):
            raise SimulatorError("openid: 1-64 letters, digits, '_' or '-'")
        found = self.users.get(openid)
        if found is None:
            found = self.users[openid] = _User(openid)
        return found

    def builder(self, channel: str, mode: str, data_format: str) -> tuple[str, PushBuilder]:
        """The webhook URL and a push builder with its credentials, in ``mode``."""
        if channel not in self.backend.webhooks:
            only = ", ".join(self.backend.webhooks)
            raise SimulatorError(f"channel: this simulator drives only {only}")
        if mode not in self.backend.modes(channel):
            raise SimulatorError(f"mode: {mode} needs the EncodingAESKey (--aes-key)")
        url, base = self.backend.webhooks[channel]
        fmt = data_format if channel == "mp" else "xml"
        return url, replace(base, mode=mode, data_format=fmt)

    # -- customer-service messages ---------------------------------------------------

    def _message(self, index: int, sent: SentMessage, user: _User) -> dict[str, Any]:
        if sent.msgtype == "text":
            text = str(sent.body.get("text", {}).get("content", ""))
        else:
            text = f"[{sent.msgtype}]"
        pushed = [t for t in user.started if t <= sent.at]
        latency = (sent.at - pushed[-1]) * 1000 if pushed else None
        return {
            "index": index,
            "channel": "oa" if sent.app_id == self.backend.oa_app_id else "mp",
            "msgtype": sent.msgtype,
            "text": text,
            "latency_ms": None if latency is None else round(latency, 1),
            "slow": latency is not None and latency > SLOW_MS,
            # The body the bot POSTed to the customer-service API, for the inspector.
            "wire": json.dumps(sent.body, ensure_ascii=False),
        }

    def inbox(self, user: _User, after: int) -> tuple[list[dict[str, Any]], int]:
        """Customer-service messages to ``user`` among the stand-in's ``after:`` ones."""
        sent = self.backend.sent
        found = [
            self._message(i, m, user)
            for i, m in enumerate(sent)
            if i >= after and m.touser == user.openid
        ]
        return found, len(sent)

    async def wait_inbox(self, user: _User, after: int) -> list[dict[str, Any]]:
        """Wait (at most :data:`INBOX_WAIT`) for messages to ``user``, then a quiet spell."""
        deadline = time.monotonic() + INBOX_WAIT
        found: list[dict[str, Any]] = []
        quiet_until = deadline
        while time.monotonic() < min(deadline, quiet_until):
            now_found, _ = self.inbox(user, after)
            if len(now_found) > len(found):
                found = now_found
                quiet_until = time.monotonic() + INBOX_QUIET
            await asyncio.sleep(0.05)
        return self.inbox(user, after)[0] if found else found

    # -- pushes --------------------------------------------------------------------

    async def send(self, request: dict[str, Any]) -> dict[str, Any]:
        """Carry out one ``/api/send`` request."""
        kind = _choice(request, "kind", KINDS, None)
        user = self.user(str(request.get("openid", "")))
        async with user.lock:
            if kind == "retry":
                return await self._retry(user)
            channel = _choice(request, "channel", CHANNELS, "oa")
            mode = _choice(request, "mode", MODES, "plain")
            data_format = _choice(request, "format", FORMATS, "xml") if channel == "mp" else "xml"
            url, builder = self.builder(channel, mode, data_format)
            client = WebhookClient(self.http, url, builder)
            record: tuple[str, str]
            if kind == "text":
                text = request.get("text")
                if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
                    raise SimulatorError(f"text: 1 to {MAX_TEXT} characters")
                push, record = client.text(user.openid, text), ("send", text)
            elif kind == "click":
                key = request.get("key")
                if not isinstance(key, str) or not key or len(key.encode()) > 128:
                    raise SimulatorError("key: a menu EventKey")
                push, record = client.event(user.openid, "CLICK", key), ("click", key)
            elif kind == "subscribe":
                # The mini-program has no "follow": entering the chat plays that part.
                event = "user_enter_tempsession" if channel == "mp" else "subscribe"
                push, record = client.event(user.openid, event), ("event", "subscribe")
            else:
                push, record = client.media(user.openid, "image"), ("media", "image")
            after = len(self.backend.sent)
            user.started.append(time.time())
            exchange = await self._reach(url, push)
            user.last = _Push(url, builder, dict(exchange.fields), channel)
            messages: list[dict[str, Any]] = []
            if exchange.reply.kind in ("success", "transfer") and not self.backend.is_remote:
                messages = await self.wait_inbox(user, after)
            self._record(user, mode, record, exchange, messages)
            return self._answer(user, exchange, messages, channel, retry=False)

    async def _retry(self, user: _User) -> dict[str, Any]:
        last = user.last
        if last is None:
            raise SimulatorError("nothing to retry yet")
        client = WebhookClient(self.http, last.url, last.builder)
        user.started.append(time.time())
        exchange = await self._reach(last.url, client.push(last.fields))
        return self._answer(user, exchange, [], last.channel, retry=True)

    @staticmethod
    async def _reach(url: str, push: Awaitable[Exchange]) -> Exchange:
        """``await push``; a webhook that cannot be reached is a 502 with one line."""
        try:
            return await push
        except aiohttp.ClientError as exc:
            raise WebhookUnreachable(unreachable(url, exc)) from None

    def _record(
        self,
        user: _User,
        mode: str,
        record: tuple[str, str],
        exchange: Exchange,
        messages: list[dict[str, Any]],
    ) -> None:
        reply = exchange.reply
        if reply.kind == "error":
            return
        user.recorder.mode = mode
        if reply.kind == "success" and messages:
            # What WeChat shows the user; replayed on /wechat it is the passive reply.
            text = "\n".join(m["text"] for m in messages if m["msgtype"] == "text")
            user.recorder.add(record[0], record[1], "text", text)
        else:
            user.recorder.add(record[0], record[1], reply.kind, reply.text)

    def _answer(
        self,
        user: _User,
        exchange: Exchange,
        messages: list[dict[str, Any]],
        channel: str,
        *,
        retry: bool,
    ) -> dict[str, Any]:
        reply = exchange.reply
        return {
            "openid": user.openid,
            "channel": channel,
            "retry": retry,
            "msg_id": exchange.fields.get("MsgId"),
            "reply": {
                "kind": reply.kind,
                "text": reply.text,
                "latency_ms": round(exchange.latency_ms, 1),
                "slow": exchange.latency_ms > SLOW_MS,
            },
            "messages": messages,
            "cursor": len(self.backend.sent),
            "turns": len(user.recorder.turns),
            "remote": self.backend.is_remote,
            "inspect": inspection(exchange),
        }


def inspection(exchange: Exchange) -> dict[str, Any] | None:
    """The inspector's view of one exchange: each side on the wire and in plaintext."""
    wire = exchange.wire
    if wire is None:
        return None
    return {
        "request": {
            "line": wire.request_line,
            "query": wire.query,
            "content_type": wire.content_type,
            "encrypted": wire.encrypted,
            "wire": wire.request_body,
            "plain": wire.request_plain,
        },
        "reply": {"status": wire.status, "wire": wire.reply_body, "plain": wire.reply_plain},
        "timings": {
            "build_ms": round(wire.build_ms, 2),
            "http_ms": round(exchange.latency_ms, 2),
            "read_ms": round(wire.read_ms, 2),
            "total_ms": round(wire.build_ms + exchange.latency_ms + wire.read_ms, 2),
        },
    }


def _choice(
    request: dict[str, Any], name: str, allowed: tuple[str, ...], default: str | None
) -> str:
    value = request.get(name, default)
    if value not in allowed:
        raise SimulatorError(f"{name}: one of {', '.join(allowed)}")
    return str(value)


SIMULATOR = web.AppKey("simulator", Simulator)
PAGE = web.AppKey("page", jinja2.Environment)


def page_environment() -> jinja2.Environment:
    """The page's own Jinja environment: HTML, everything escaped (not the reply Renderer)."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(PAGE_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@web.middleware
async def _headers(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        response: web.StreamResponse = await handler(request)
    except SimulatorError as exc:
        response = web.json_response({"error": str(exc)}, status=exc.status)
    response.headers.setdefault("Content-Security-Policy", _CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("Cache-Control", "no-store")
    return response


async def _index(request: web.Request) -> web.Response:
    sim = request.app[SIMULATOR]
    backend = sim.backend
    openid = new_openid()
    sim.user(openid)
    html = (
        request.app[PAGE]
        .get_template("index.html.j2")
        .render(
            openid=openid,
            buttons=load_menu().buttons,
            slow_ms=int(SLOW_MS),
            remote=backend.is_remote,
            webhooks={channel: url for channel, (url, _) in backend.webhooks.items()},
            modes={channel: backend.modes(channel) for channel in backend.webhooks},
            default_mode=backend.default_mode,
        )
    )
    return web.Response(text=html, content_type="text/html")


async def _static(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    content_type = _STATIC.get(name)
    if content_type is None:
        raise web.HTTPNotFound()
    return web.Response(
        text=(PAGE_DIR / name).read_text(encoding="utf-8"),
        content_type=content_type,
        charset="utf-8",
    )


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError as exc:
        raise SimulatorError("the body must be a JSON object") from exc
    if not isinstance(body, dict):
        raise SimulatorError("the body must be a JSON object")
    return body


async def _send(request: web.Request) -> web.Response:
    answer = await request.app[SIMULATOR].send(await _json_body(request))
    return web.json_response(answer)


async def _inbox(request: web.Request) -> web.Response:
    sim = request.app[SIMULATOR]
    user = sim.user(request.query.get("openid", ""))
    try:
        after = int(request.query.get("after", "0"))
    except ValueError as exc:
        raise SimulatorError("after: a number") from exc
    messages, cursor = sim.inbox(user, max(after, 0))
    return web.json_response({"openid": user.openid, "messages": messages, "cursor": cursor})


async def _reset(request: web.Request) -> web.Response:
    sim = request.app[SIMULATOR]
    openid = new_openid()
    sim.user(openid)
    return web.json_response({"openid": openid, "cursor": len(sim.backend.sent)})


async def _transcript(request: web.Request) -> web.Response:
    sim = request.app[SIMULATOR]
    openid = request.query.get("openid", "")
    user = sim.user(openid)
    if not user.recorder.turns:
        raise SimulatorError("nothing recorded for this user yet")
    return web.Response(
        text=user.recorder.dump(),
        content_type="application/x-yaml",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="simulator-{openid}.yaml"'},
    )


async def create_simulator_app(target: LocalBot | Backend) -> web.Application:
    """The simulator's web app (page and JSON API) in front of a local bot or a webhook."""
    app = web.Application(middlewares=[_headers], client_max_size=64 * 1024)
    sim = Simulator(target if isinstance(target, Backend) else Backend.local(target))
    app[SIMULATOR] = sim
    app[PAGE] = page_environment()

    async def http_session(_: web.Application) -> AsyncIterator[None]:
        sim._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        yield
        await sim._http.close()
        sim._http = None

    app.cleanup_ctx.append(http_session)
    app.router.add_get("/", _index)
    app.router.add_get("/static/{name}", _static)
    app.router.add_post("/api/send", _send)
    app.router.add_get("/api/inbox", _inbox)
    app.router.add_post("/api/reset", _reset)
    app.router.add_get("/api/transcript", _transcript)
    return app


@contextlib.asynccontextmanager
async def _backend(
    db_path: Path | None, url: str | None, token: str | None, aes_key: str | None,
    app_id: str | None,
) -> AsyncIterator[tuple[Backend, str]]:
    """The pushes' target and a line saying what it is: ``url``, or a built-in bot."""
    if url:
        if db_path is not None:
            raise ConfigError("--db is the built-in webhook's database; it has none with --url")
        async with remote_webhook(url, token, aes_key, app_id) as (webhook, builder):
            yield Backend.remote(webhook, builder), (
                f"webhook {webhook}, {builder.mode} mode; customer-service messages "
                "cannot be read back from a running wxloan"
            )
        return
    with contextlib.ExitStack() as stack:
        if db_path is None:
            folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="wxloan-sim-"))
            db_path = Path(folder) / "simulator.db"
        async with local_bot(db_path) as bot:
            yield Backend.local(bot), f"webhook {bot.base_url}, database {db_path}"


async def run_simulator(
    port: int = 8000,
    db_path: Path | None = None,
    host: str = "127.0.0.1",
    *,
    url: str | None = None,
    token: str | None = None,
    aes_key: str | None = None,
    app_id: str | None = None,
) -> None:
    """Serve the simulator on ``host:port`` until cancelled or sent SIGTERM.

    :param db_path: the built-in bot's SQLite file; a throw-away one when ``None``.
    :param url: drive the running wxloan webhook there instead of a built-in bot, with
        ``token``/``aes_key``/``app_id`` (default: the environment, as ``wxloan chat``).
    """
    stop = asyncio.Event()
    with _stopped_by(signal.SIGTERM, stop):
        async with _backend(db_path, url, token, aes_key, app_id) as (backend, what):
            runner = web.AppRunner(await create_simulator_app(backend), access_log=None)
            await runner.setup()
            try:
                await web.TCPSite(runner, host, port).start()
                bound = runner.addresses[0][1] if runner.addresses else port
                shown = f"[{host}]" if ":" in host else host
                print(f"wxloan simulator: http://{shown}:{bound}/  ({what}); Ctrl-C to stop",
                      flush=True)
                await stop.wait()
            finally:
                await runner.cleanup()


@contextlib.contextmanager
def _stopped_by(signum: signal.Signals, stop: asyncio.Event) -> Iterator[None]:
    """``signum`` sets ``stop``: a SIGTERM (``kill``, systemd, Docker) then ends the
    simulator as Ctrl-C does, through the ``finally`` blocks that remove the temporary
    folder, instead of killing the process where it stands."""
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signum, stop.set)
    except (NotImplementedError, RuntimeError, ValueError):  # Windows; not the main thread
        yield
        return
    try:
        yield
    finally:
        loop.remove_signal_handler(signum)
