"""``wxloan serve`` with per-stage counters: where one message's CPU time goes.

``python -m tests.perf.bench --stages`` starts the server through this module instead of
``python -m wxloan``. Before the app is built it wraps the functions of each stage with a
counter (two reads of the thread's CPU clock and two dict updates), so the
production code carries no instrumentation and the profile has no profiler's overhead.
When the server stops it writes the totals as JSON to ``$WXLOAN_STAGE_TIMES``.

How the stages are counted:

* every clock is the calling thread's CPU clock (``time.thread_time_ns``), so time spent
  waiting for the GIL while the writer thread runs is never counted in a stage;
* synchronous functions: from entry to return;
* coroutines: only while they run — the wrapper drives the coroutine itself and stops the
  clock whenever it yields to the event loop, so time spent waiting (for the writer
  thread, a lock, the deadline) is never counted, and nothing is counted twice;
* the writer thread: its own CPU clock (``time.thread_time_ns``) around each group commit;
* the event-loop thread's CPU clock from start-up to shutdown, so "aiohttp + asyncio" is
  what remains of it after every stage that runs on it.

Nested stages (understanding inside the dialogue, the dialogue inside the turn) are
reported exclusive of their children by :func:`table`.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Generator
from typing import Any

NS: defaultdict[str, int] = defaultdict(int)
CALLS: defaultdict[str, int] = defaultdict(int)
_pc = time.thread_time_ns  # CPU time of the calling thread: a wait for the GIL is not counted


def _timed(stage: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = _pc()
        try:
            return fn(*args, **kwargs)
        finally:
            NS[stage] += _pc() - start
            CALLS[stage] += 1

    wrapper.__wrapped__ = fn  # type: ignore[attr-defined]
    return wrapper


class _Running:
    """Awaits a coroutine, counting only the time it runs (not the time it waits)."""

    __slots__ = ("coro", "stage")

    def __init__(self, coro: Any, stage: str) -> None:
        self.coro, self.stage = coro, stage

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, stage = self.coro, self.stage
        value: Any = None
        error: BaseException | None = None
        CALLS[stage] += 1
        while True:
            start = _pc()
            try:
                yielded = coro.throw(error) if error is not None else coro.send(value)
            except StopIteration as stop:
                NS[stage] += _pc() - start
                return stop.value
            except BaseException:
                NS[stage] += _pc() - start
                raise
            NS[stage] += _pc() - start
            try:
                value, error = (yield yielded), None
            except BaseException as exc:  # cancellation and the like go into the coroutine
                value, error = None, exc


def _timed_async(stage: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        return await _Running(fn(*args, **kwargs), stage)

    wrapper.__wrapped__ = fn  # type: ignore[attr-defined]
    return wrapper


class _TimedLogger(logging.Logger):
    """The webhook's logger, with its ``info`` (the per-message line) counted."""

    def info(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        start = _pc()
        try:
            super().info(*args, **kwargs)
        finally:
            NS["log"] += _pc() - start
            CALLS["log"] += 1


def _count_gc(phase: str, info: dict[str, Any]) -> None:
    """Garbage collections, wherever they strike (reported apart: "of which GC")."""
    generation = f"gc{info.get('generation', '')}"
    if phase == "start":
        NS["gc"] -= _pc()
        NS[generation] -= _pc()
    else:
        NS["gc"] += _pc()
        NS[generation] += _pc()
        CALLS[generation] += 1


def install() -> None:
    """Wrap each stage's functions (before the app is built, so it picks up the wrappers)."""
    import gc

    gc.callbacks.append(_count_gc)
    from wxloan.bot import app as app_module
    from wxloan.bot import pipeline, security, webhook
    from wxloan.handlers import facade, rendering, services
    from wxloan.storage import engine, turns

    webhook.check_signature = _timed("verify", webhook.check_signature)
    webhook.check_timestamp = _timed("verify", webhook.check_timestamp)
    webhook._parse_fields = _timed("parse", webhook._parse_fields)
    webhook._to_inbound = _timed("parse", webhook._to_inbound)
    webhook.render_passive = _timed("reply xml", webhook.render_passive)
    webhook.render_passive_json = _timed("reply xml", webhook.render_passive_json)
    security.MessageCrypto.decrypt = _timed("decrypt", security.MessageCrypto.decrypt)
    security.MessageCrypto.encrypt = _timed("encrypt", security.MessageCrypto.encrypt)
    security.MessageCrypto.encrypt_json = _timed(
        "encrypt", security.MessageCrypto.encrypt_json)
    webhook.log.__class__ = _TimedLogger
    pipeline.mask_personal_data = _timed("mask", pipeline.mask_personal_data)
    pipeline.paginate = _timed("pages", pipeline.paginate)
    pipeline.Pipeline.respond = _timed_async("respond", pipeline.Pipeline.respond)
    pipeline.Pipeline._process = _timed_async("process", pipeline.Pipeline._process)
    pipeline.Pipeline._settle = _timed("settle", pipeline.Pipeline._settle)
    facade.Dialogue.answer = _timed_async("dialogue", facade.Dialogue.answer)
    services.DialogueServices.interpret = _timed(
        "understand", services.DialogueServices.interpret)
    # every template goes through render_one (Renderer.render calls it for each piece)
    rendering.Renderer.render_one = _timed("render", rendering.Renderer.render_one)
    turns.Turns.read_turn = _timed_async("store (loop)", turns.Turns.read_turn)
    turns.Turns.finish_turn = _timed_async("store (loop)", turns.Turns.finish_turn)
    engine._deliver = _timed("store (loop, results)", engine._deliver)
    engine._Writer._run_batch = _timed("store (writer)", engine._Writer._run_batch)
    turns.dumps = _timed("session codec (writer)", turns.dumps)
    turns.mask_personal_data = _timed("mask (writer)", turns.mask_personal_data)
    webhook_receive = webhook.channel_handlers

    def channel_handlers(channel: Any) -> Any:
        verify_url, receive = webhook_receive(channel)
        return verify_url, _timed_async("request", receive)

    webhook.channel_handlers = channel_handlers
    app_module.channel_handlers = channel_handlers
    create_app = app_module.create_app

    def create_app_counted(*args: Any, **kwargs: Any) -> Any:
        app = create_app(*args, **kwargs)

        async def started(_: Any) -> None:
            NS["loop thread"] -= time.thread_time_ns()

        async def stopping(_: Any) -> None:
            NS["loop thread"] += time.thread_time_ns()

        app.on_startup.append(started)
        app.on_shutdown.append(stopping)
        return app

    app_module.create_app = create_app_counted
    from wxloan.bot import supervisor

    if hasattr(supervisor, "create_app"):
        supervisor.create_app = create_app_counted


#: The stages as the table prints them: (name, counters added, counters subtracted). The
#: subtracted ones run inside the added ones (understanding inside the dialogue, the
#: dialogue inside the turn's task, ...), so every row is exclusive and the rows of a
#: thread add up to its total.
_LOOP: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("verify (signature, timestamp)", ("verify",), ()),
    ("decrypt", ("decrypt",), ()),
    ("parse (XML, fields)", ("parse",), ()),
    ("understand", ("understand",), ()),
    ("route + handler + core", ("dialogue",), ("understand", "render")),
    ("render (templates, pages)", ("render", "pages"), ()),
    ("mask personal numbers", ("mask",), ()),
    ("store, loop side", ("store (loop)", "store (loop, results)"), ()),
    ("turn machinery (task, future, lock, deadline)", ("respond", "process", "settle"),
     ("dialogue", "mask", "store (loop)", "pages")),
    ("reply XML", ("reply xml",), ()),
    ("encrypt", ("encrypt",), ()),
    ("log line", ("log",), ()),
    ("webhook glue", ("request",),
     ("verify", "decrypt", "parse", "respond", "reply xml", "encrypt", "log")),
    ("aiohttp + asyncio (the rest of the loop thread)", ("loop thread",),
     ("request", "process", "settle", "store (loop, results)")),
)
_WRITER: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("session codec (JSON)", ("session codec (writer)",), ()),
    ("mask before storing", ("mask (writer)",), ()),
    ("SQLite + group commit", ("store (writer)",), ("session codec (writer)", "mask (writer)")),
)


def table(ns: dict[str, int], messages: int) -> list[tuple[str, float]]:
    """(stage, µs per message) rows: the loop thread's stages, then the writer thread's."""

    def per_message(added: tuple[str, ...], subtracted: tuple[str, ...]) -> float:
        own = sum(ns.get(c, 0) for c in added) - sum(ns.get(c, 0) for c in subtracted)
        return own / 1000 / max(1, messages)

    rows = [(name, per_message(a, s)) for name, a, s in _LOOP]
    rows.append(("= loop thread", per_message(("loop thread",), ())))
    rows.append(("  of which garbage collection (any thread)", per_message(("gc",), ())))
    rows += [(name, per_message(a, s)) for name, a, s in _WRITER]
    rows.append(("= writer thread", per_message(("store (writer)",), ())))
    return rows


def _write_totals() -> None:
    path = os.environ.get("WXLOAN_STAGE_TIMES")
    if not path:
        return
    with open(path, "w", encoding="utf-8") as out:
        json.dump({"ns": dict(NS), "calls": dict(CALLS),
                   "messages": CALLS.get("request", 0)}, out)


def main() -> int:
    """Install the counters and run ``wxloan`` with the given arguments."""
    install()
    atexit.register(_write_totals)
    from wxloan.bot.cli import main as cli_main

    try:
        return cli_main(sys.argv[1:])
    finally:
        _write_totals()


if __name__ == "__main__":
    raise SystemExit(main())
