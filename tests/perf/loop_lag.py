"""Event-loop lag while the webhook handles a burst: is SQLite blocking the loop?

Run: ``python -m tests.perf.loop_lag [--messages 3000] [--concurrency 64]``

A ticker coroutine sleeps 1 ms in a loop and records how late it wakes up. If SQLite ran on
the event loop, every commit (fsync included) would show up as lag; with the store's owner
thread, lag stays near the cost of one request's CPU work. Prints throughput and lag
percentiles. Not collected by pytest (it measures, it does not assert).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from wxloan.bot import Settings, create_app
from tests.wechat import APP_ID, TOKEN, WeChat, message_xml

UTTERANCES = ["你好", "1", "支付分七百二，没有逾期", "怎么提额", "借1万分12期每月还多少", "更多"]


async def _ticker(lags: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        before = time.perf_counter()
        await asyncio.sleep(0.001)
        lags.append(time.perf_counter() - before - 0.001)


def _run_sqlite_on_the_loop() -> None:
    """For comparison only: every write runs on the event loop, one transaction each."""
    import sqlite3

    from wxloan.storage.engine import Engine, connect

    connections: dict[int, sqlite3.Connection] = {}

    async def inline(self: Engine, fn):  # type: ignore[no-untyped-def]
        conn = connections.setdefault(id(self), connect(self.path))
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = fn(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result

    Engine.write = inline  # type: ignore[method-assign]


async def run(messages: int, concurrency: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(token=TOKEN, app_id=APP_ID, db_path=Path(tmp) / "lag.db")
        server = TestServer(create_app(settings))
        await server.start_server()
        async with ClientSession(base_url=str(server.make_url("/"))) as session:
            wechat = WeChat(client=None)  # type: ignore[arg-type]
            bodies = [
                wechat.build(
                    message_xml(f"user-{i % 500}", "text", int(time.time()),
                                Content=UTTERANCES[i % len(UTTERANCES)],
                                MsgId=10**12 + i + int(time.time() * 1000) * 1000)
                )
                for i in range(messages)
            ]
            lags: list[float] = []
            stop = asyncio.Event()
            ticker = asyncio.create_task(_ticker(lags, stop))
            queue = list(reversed(bodies))

            async def worker() -> None:
                while queue:
                    query, body = queue.pop()
                    async with session.post("/wechat", params=query, data=body.encode()) as r:
                        assert r.status == 200, r.status
                        await r.read()

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            elapsed = time.perf_counter() - started
            stop.set()
            await ticker
        await server.close()
    lags.sort()
    q = statistics.quantiles(lags, n=100)
    print(f"messages={messages} concurrency={concurrency} (client and server in one process)")
    print(f"throughput {messages / elapsed:,.0f} msg/s")
    print(f"loop lag p50={q[49] * 1000:.2f} ms p99={q[98] * 1000:.2f} ms max={lags[-1] * 1000:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--inline", action="store_true",
                        help="run SQLite on the event loop instead of the owner thread")
    args = parser.parse_args()
    if args.inline:
        _run_sqlite_on_the_loop()
    asyncio.run(run(args.messages, args.concurrency))


if __name__ == "__main__":
    main()
