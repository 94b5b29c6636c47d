"""``wxloan dashboard``: a read-only web page over the database ``serve`` writes.

One aiohttp app: the page (``page/``: HTML, one script, one stylesheet and Chart.js,
vendored), and the JSON API the page draws from:

* ``GET /api/summary?days=N`` — users, messages in and out, fallbacks, verdicts, scam
  warnings (by pattern), hand-offs, outcomes, latency p50/p99, intents, and each day;
* ``GET /api/funnel?days=N`` — per flow: started, reached a first verdict, after how many
  turns, and the question the others stopped at;
* ``GET /api/understanding?days=N`` — the unrecognised or unsure messages, grouped and
  masked, with the model's best guesses; ``/api/understanding/export?days=N`` downloads
  them in the NLU example format;
* ``GET /api/conversations?days=N&q=TEXT&page=P`` — users, last seen first;
  ``GET /api/conversations/{user}`` — one conversation (openid or log reference).

There is no write endpoint: every route is ``GET`` except the login form's ``POST``, which
only sets a cookie. Off loopback a token is required (``WXLOAN_DASHBOARD_TOKEN``), sent as
``Authorization: Bearer …`` or entered once in the login form; both are compared in
constant time. Every response carries a strict Content-Security-Policy.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import ipaddress
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import orjson
from aiohttp import web

from wxloan.handlers.nlu import Understander

from ..logs import user_ref
from ..nlu_tools import Group, best_guesses, export_text, group_messages
from .analytics import day_of
from .source import Source

__all__ = ["PAGE_DIR", "create_dashboard_app", "is_loopback"]

log = logging.getLogger("wxloan.dashboard")

PAGE_DIR = Path(__file__).with_name("page")
SOURCE = web.AppKey("source", Source)
TOKEN: web.AppKey[str | None] = web.AppKey("token")
CLOCK: web.AppKey[Callable[[], float]] = web.AppKey("clock")
UNDERSTANDER = web.AppKey("understander", Understander)
#: the last grouping of unsure messages ("now"), reused until a row or the day changes
GROUPED: web.AppKey[dict[str, "_Grouped"]] = web.AppKey("grouped")

#: The longest period the API answers for (days).
MAX_DAYS = 366
#: Conversations per page of the list.
PER_PAGE = 20
#: Groups of unsure messages the understanding page lists.
GROUPS_SHOWN = 50
#: The most recent unsure messages grouped, and the distinct texts among them compared
#: (grouping is quadratic in those: measured 0.06 s for 1,000 distinct texts, 1.2 s for
#: 5,000); the rarer texts are groups of their own.
GROUPED_AT_MOST = 5_000
CLUSTERED_AT_MOST = 1_000
COOKIE = "wxloan_dashboard"
#: Wrong tokens a client may send in LOGIN_WINDOW seconds before the form answers 429.
LOGIN_ATTEMPTS = 5
LOGIN_WINDOW = 60.0
#: client address -> when its recent wrong tokens came
FAILED_LOGINS: web.AppKey[dict[str, list[float]]] = web.AppKey("failed_logins")

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
       " connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
_STATIC = {"app.js": "application/javascript", "style.css": "text/css",
           "chart.umd.min.js": "application/javascript"}


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _session_value(token: str) -> str:
    """The cookie a login sets: derived from the token, so the token itself is never
    stored in the browser."""
    return hmac.new(token.encode(), b"wxloan-dashboard-session", hashlib.sha256).hexdigest()


def _same(given: str, expected: str) -> bool:
    """Constant-time comparison of what a client sent (header bytes that are not UTF-8
    arrive as surrogates: they compare unequal, never raise)."""
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"),
                               expected.encode("utf-8"))


def _authorised(request: web.Request, token: str) -> bool:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return _same(header[7:].strip(), token)
    return _same(request.cookies.get(COOKIE, ""), _session_value(token))


def _loopback_host(request: web.Request) -> bool:
    """True when the request names this machine (``Host: 127.0.0.1:8090``, ``localhost``,
    ``[::1]``); any other name on a tokenless dashboard is a DNS-rebinding page or a proxy
    forwarding outside traffic."""
    host = request.headers.get("Host", "")
    name = host[1:host.find("]")] if host.startswith("[") else host.rsplit(":", 1)[0]
    return is_loopback(name.lower())


def _safe_next(target: str) -> str:
    """Where a login may send the browser: a path on this site, nothing else (no scheme,
    no host, no backslash or control character a browser would read as ``//host``)."""
    if (not target.startswith("/") or target.startswith("//")
            or any(ch == "\\" or ord(ch) < 0x21 or ord(ch) == 0x7F for ch in target)):
        return "/"
    parts = urlsplit(target)
    return "/" if parts.scheme or parts.netloc else target


@web.middleware
async def _guard(request: web.Request,
                 handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                 ) -> web.StreamResponse:
    """Security headers everywhere; the token where one is set (but for the login page)."""
    token = request.app[TOKEN]
    open_paths = ("/login", "/static/style.css")
    if token is None and not _loopback_host(request):
        response: web.StreamResponse = web.json_response(
            {"error": "this dashboard has no token: open it as http://127.0.0.1:PORT/"},
            status=403)
    elif token is not None and request.path not in open_paths and not _authorised(request, token):
        if request.path.startswith("/api/"):
            response = web.json_response(
                {"error": "unauthorised: send Authorization: Bearer <token>"}, status=401)
        else:
            response = web.Response(status=302, headers={
                "Location": f"/login?next={quote(request.path_qs)}"})
    else:
        try:
            response = await handler(request)
        except web.HTTPException as exc:  # answered here, so it gets the headers too
            response = web.Response(status=exc.status, reason=exc.reason, text=exc.text,
                                    headers={k: v for k, v in exc.headers.items()
                                             if k.lower() != "content-length"})
        except Exception:  # the database went away, a bug: a short answer, still guarded
            log.exception("dashboard request failed", extra={"fields": {"path": request.path}})
            response = web.json_response({"error": "the database could not be read"},
                                         status=503)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    if request.path.startswith("/api/"):
        response.headers["Cache-Control"] = "no-store"
    return response


def _days(request: web.Request) -> int:
    raw = request.query.get("days", "14")
    try:
        days = int(raw)
    except ValueError:
        raise _bad(f"days must be a whole number of days, not {raw!r}") from None
    if not 1 <= days <= MAX_DAYS:
        raise _bad(f"days must be between 1 and {MAX_DAYS}")
    return days


def _bad(message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=json.dumps({"error": message}, ensure_ascii=False),
                              content_type="application/json")


def _today(request: web.Request) -> int:
    return day_of(request.app[CLOCK]())


async def _summary(request: web.Request) -> web.Response:
    days = _days(request)
    analytics = await request.app[SOURCE].refresh()
    return web.json_response(analytics.summary(days, _today(request)))


async def _funnel(request: web.Request) -> web.Response:
    days = _days(request)
    analytics = await request.app[SOURCE].refresh()
    return web.json_response(analytics.funnel(days, _today(request)))


@dataclass
class _Grouped:
    """The unsure messages of one period grouped, with the guesses worked out so far."""

    key: tuple[int, int, int, int]
    groups: list[Group]
    total: int  #: unsure messages in the period
    grouped: int  #: of which grouped (the most recent)
    guesses: dict[int, list[tuple[str, float]]] = field(default_factory=dict)


async def _groups(request: web.Request, shown: int | None) -> tuple[int, _Grouped]:
    """The period's groups (cached until a new row arrives), with guesses for the first
    ``shown`` groups (None: all). The grouping and the guessing run on a worker thread:
    they are the only answers whose cost grows with distinct texts, and the event loop
    keeps answering meanwhile."""
    days = _days(request)
    source = request.app[SOURCE]
    analytics = await source.refresh()
    today = _today(request)
    key = (id(analytics), analytics.rows, days, today)
    cached = request.app[GROUPED]
    if cached.get("now") is None or cached["now"].key != key:
        messages = analytics.unsure_since(days, today)
        groups = await asyncio.to_thread(group_messages, messages[-GROUPED_AT_MOST:],
                                         source.confidence, CLUSTERED_AT_MOST)
        cached["now"] = _Grouped(key, groups, analytics.unsure_count(days, today),
                                 min(len(messages), GROUPED_AT_MOST))
    grouped = cached["now"]
    wanted = [n for n in range(len(grouped.groups) if shown is None
                               else min(shown, len(grouped.groups)))
              if n not in grouped.guesses]
    if wanted:
        understander = request.app[UNDERSTANDER]

        def guess() -> None:
            for n in wanted:
                reading = understander.understand(grouped.groups[n].example)
                grouped.guesses[n] = best_guesses(reading)

        await asyncio.to_thread(guess)
    return days, grouped


async def _understanding(request: web.Request) -> web.Response:
    days, grouped = await _groups(request, GROUPS_SHOWN)
    analytics = request.app[SOURCE].analytics
    intents = analytics.summary(days, _today(request))["intents"]
    shown = [{"example": g.example, "messages": g.count, "users": len(g.users),
              "fallback": g.fallback, "clarified": g.clarify, "low_confidence": g.low,
              "variants": [{"text": t, "count": n} for t, n in g.variants.most_common(5)],
              "guesses": [{"intent": name, "confidence": round(p, 2)}
                          for name, p in grouped.guesses[n]]}
             for n, g in enumerate(grouped.groups[:GROUPS_SHOWN])]
    return web.json_response({"days": days, "messages": grouped.total,
                              "grouped": grouped.grouped, "groups": shown,
                              "group_count": len(grouped.groups), "intents": intents})


async def _understanding_export(request: web.Request) -> web.Response:
    days, grouped = await _groups(request, None)
    guesses = [grouped.guesses[n] for n in range(len(grouped.groups))]
    text, _, _ = await asyncio.to_thread(export_text, grouped.groups, guesses, days=days,
                                         source="wxloan dashboard")
    name = f"wxloan-unsure-{days}d-{time.strftime('%Y%m%d')}.yml"
    return web.Response(text=text, content_type="application/x-yaml", headers={
        "Content-Disposition": f'attachment; filename="{name}"'})


async def _conversations(request: web.Request) -> web.Response:
    days = _days(request)
    try:
        page = int(request.query.get("page", "1"))
    except ValueError:
        raise _bad("page must be a whole number") from None
    if page < 1:
        raise _bad("page must be at least 1")
    query = request.query.get("q", "")[:100]
    analytics = await request.app[SOURCE].refresh()
    return web.json_response(analytics.conversations(days, _today(request), query, page,
                                                     PER_PAGE))


async def _conversation(request: web.Request) -> web.Response:
    source = request.app[SOURCE]
    analytics = await source.refresh()
    openid = analytics.find(request.match_info["user"])
    if openid is None:
        raise web.HTTPNotFound(text='{"error": "no such user"}', content_type="application/json")
    turns = []
    for row in await source.feed.conversation(openid, 500):
        meta = _turn_meta(row.pop("meta"))
        turns.append({**row, **meta})
    return web.json_response({"openid": openid, "ref": user_ref(openid), "messages": turns})


def _turn_meta(raw: str | None) -> dict[str, Any]:
    """What the page shows on hover: intent, flow and latency (nothing else of meta)."""
    if not raw:
        return {}
    meta = orjson.loads(raw)
    return {key: meta.get(key) for key in ("intent", "flow", "ms", "verdict", "fallback")
            if key in meta}


async def _page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(PAGE_DIR / "index.html")


async def _static(request: web.Request) -> web.FileResponse:
    name = request.match_info["name"]
    if name not in _STATIC:
        raise web.HTTPNotFound()
    folder = PAGE_DIR / "vendor" if name == "chart.umd.min.js" else PAGE_DIR
    return web.FileResponse(folder / name, headers={"Content-Type": _STATIC[name]})


async def _login_form(request: web.Request) -> web.FileResponse:
    return web.FileResponse(PAGE_DIR / "login.html")


async def _login(request: web.Request) -> web.StreamResponse:
    token = request.app[TOKEN]
    if token is None:
        raise web.HTTPFound("/")
    now = request.app[CLOCK]()
    failures = request.app[FAILED_LOGINS]
    client = request.remote or "?"
    recent = [t for t in failures.get(client, ()) if now - t < LOGIN_WINDOW]
    if len(recent) >= LOGIN_ATTEMPTS:
        raise web.HTTPTooManyRequests(text="too many wrong tokens: wait a minute")
    form = await request.post()
    given = str(form.get("token", ""))
    target = _safe_next(request.query.get("next", "/"))
    if not _same(given, token):
        failures[client] = [*recent, now]
        if len(failures) > 10_000:  # a flood of addresses must not grow this without end
            failures.clear()
        raise web.HTTPFound(f"/login?failed=1&next={quote(target)}")
    failures.pop(client, None)
    response = web.Response(status=302, headers={"Location": target})
    response.set_cookie(COOKIE, _session_value(token), httponly=True, samesite="Strict",
                        secure=request.secure or not _loopback_host(request), path="/")
    return response


def create_dashboard_app(source: Source, *, token: str | None = None,
                         clock: Callable[[], float] = time.time,
                         watch_deletions: bool = True) -> web.Application:
    """The dashboard over ``source``; ``token`` (if any) is required on every request;
    ``watch_deletions`` runs :meth:`Source.watch` while it serves."""
    app = web.Application(middlewares=[_guard], client_max_size=16 * 1024)
    app[SOURCE] = source
    app[TOKEN] = token or None
    app[CLOCK] = clock
    app[UNDERSTANDER] = Understander()
    app[GROUPED] = {}
    app[FAILED_LOGINS] = {}
    app.router.add_get("/", _page)
    app.router.add_get("/static/{name}", _static)
    app.router.add_get("/login", _login_form)
    app.router.add_post("/login", _login)
    app.router.add_get("/api/summary", _summary)
    app.router.add_get("/api/funnel", _funnel)
    app.router.add_get("/api/understanding", _understanding)
    app.router.add_get("/api/understanding/export", _understanding_export)
    app.router.add_get("/api/conversations", _conversations)
    app.router.add_get("/api/conversations/{user}", _conversation)

    async def watch(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(source.watch()) if watch_deletions else None
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await source.close()

    app.cleanup_ctx.append(watch)
    return app
