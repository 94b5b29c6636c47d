"""``wxloan dashboard [--host 127.0.0.1] [--port 8090] [--db PATH|URL]``."""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket
import time

from aiohttp import web

from ..config import Settings
from ..errors import ConfigError
from ..nlu_tools import known_examples
from ..startup import bind_sockets
from .app import create_dashboard_app, is_loopback
from .source import Source, open_feed

__all__ = ["add_commands"]

#: The shortest token accepted (a guessable one would make the check pointless).
MIN_TOKEN = 16


def add_commands(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add ``dashboard``; it sets ``run(settings, args) -> exit code``."""
    dashboard = commands.add_parser(
        "dashboard", help="a read-only web page: activity, funnel, understanding, conversations")
    dashboard.add_argument("--host", default="127.0.0.1",
                           help="address to listen on (default 127.0.0.1; any other needs"
                                " WXLOAN_DASHBOARD_TOKEN)")
    dashboard.add_argument("--port", type=int, default=8090, help="port (default 8090)")
    dashboard.add_argument("--db", help="SQLite file or postgresql:// URL (default $WXLOAN_DB)")
    dashboard.set_defaults(run=_dashboard)


def _dashboard(settings: Settings, args: argparse.Namespace) -> int:
    from wxloan.handlers.nlu.evaluation import load_thresholds

    token = settings.dashboard_token
    if token is None and not is_loopback(args.host):
        raise ConfigError("WXLOAN_DASHBOARD_TOKEN: required when --host is not a loopback"
                          f" address ({args.host!r}); set it, or listen on 127.0.0.1")
    if token is not None and len(token) < MIN_TOKEN:
        raise ConfigError(f"WXLOAN_DASHBOARD_TOKEN: at least {MIN_TOKEN} characters")
    if not 0 <= args.port <= 65535:
        raise ConfigError(f"--port must be between 0 and 65535, got {args.port}")
    confidence = load_thresholds().confidence
    sockets = bind_sockets(args.host, args.port)
    try:
        asyncio.run(_serve(settings, sockets, confidence, token))
    finally:
        for sock in sockets:
            sock.close()
    return 0


async def _serve(settings: Settings, sockets: list[socket.socket], confidence: float,
                 token: str | None) -> None:
    from ..cli import _existing_database

    target = settings.db_target
    with _existing_database(target):
        feed = await open_feed(target)
    source = Source(feed, confidence)
    started = time.perf_counter()
    analytics = await source.load()
    await asyncio.to_thread(known_examples)  # read once now, not on the first download
    print(f"wxloan dashboard: counted {analytics.rows} messages of {len(analytics.users)} users"
          f" in {time.perf_counter() - started:.1f} s", flush=True)
    runner = web.AppRunner(create_dashboard_app(source, token=token), access_log=None)
    await runner.setup()
    try:
        for sock in sockets:
            sock.listen(128)
            await web.SockSite(runner, sock).start()
        host, port = sockets[0].getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        print(f"wxloan dashboard: http://{shown}:{port}/ (read-only; Ctrl+C stops)", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
    finally:
        await runner.cleanup()
