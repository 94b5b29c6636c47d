"""``python -m tests.perf.dashboard_bench [--messages 1000000]``: the dashboard on big data.

Generates conversations (tests/dashboard_data.py) until the log holds about ``--messages``
rows, inserts them into a migrated SQLite file, starts ``wxloan dashboard`` on it as an
operator would (a subprocess), and times every page and API answer over HTTP: each is
asked once (the first answer fills any cache it has), then ``--rounds`` times more: the
first, the median and the slowest are reported.
The first count (at start-up, before the dashboard listens) is reported too.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from tests.dashboard_data import plan, write_bulk

PATHS = ("/", "/static/app.js", "/static/chart.umd.min.js", "/api/summary?days=14",
         "/api/summary?days=90", "/api/funnel?days=14", "/api/funnel?days=90",
         "/api/understanding?days=14", "/api/understanding/export?days=14",
         "/api/conversations?days=14", "/api/conversations?days=90&page=500",
         "/api/conversations?days=90&q=fx-7-0001", "/api/conversations/{ref}")


async def _time(url: str, rounds: int) -> tuple[float, float, float, int]:
    async with aiohttp.ClientSession() as http:
        started = time.perf_counter()
        async with http.get(url) as resp:  # the first ask: fills any cache the answer has
            await resp.read()
        first = (time.perf_counter() - started) * 1000
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            async with http.get(url) as resp:
                body = await resp.read()
                assert resp.status == 200, (url, resp.status)
            times.append((time.perf_counter() - started) * 1000)
    return first, statistics.median(times), max(times), len(body)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--port", type=int, default=18091)
    parser.add_argument("--postgres", action="store_true",
                        help="also copy the data into a throwaway PostgreSQL server"
                             " (wxloan migrate-db) and time the dashboard on it")
    args = parser.parse_args()
    from wxloan.bot.logs import user_ref

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "big.db"
        started = time.perf_counter()
        users = max(1, args.messages * 10 // 31)  # ~3.1 messages per generated user
        fixture = plan(users, days=90, varied=True)
        asyncio.run(write_bulk(db, fixture))
        import sqlite3

        with sqlite3.connect(db) as conn:
            stored = conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
        print(f"generated {stored:,} messages of {users:,} users in"
              f" {time.perf_counter() - started:.0f} s ({db.stat().st_size / 1e6:.0f} MB)")
        ref = user_ref(fixture.turns[len(fixture.turns) // 2].openid)
        print("\n# SQLite")
        _bench(str(db), args, ref)
        if args.postgres:
            from tests.postgres import running_server

            with running_server() as server:
                url = server.url(server.create_database())
                started = time.perf_counter()
                subprocess.run([sys.executable, "-m", "wxloan", "migrate-db", "--from", str(db),
                                "--to", url], check=True, stdout=subprocess.DEVNULL)
                print(f"\n# PostgreSQL (copied in {time.perf_counter() - started:.0f} s)")
                _bench(url, args, ref)
    return 0


def _bench(db: str, args: argparse.Namespace, ref: str) -> None:
    """Start ``wxloan dashboard`` on ``db`` and time every answer."""
    env = dict(os.environ, WXLOAN_LOG_LEVEL="WARNING")
    proc = subprocess.Popen([sys.executable, "-m", "wxloan", "dashboard", "--db", db,
                             "--port", str(args.port)], stdout=subprocess.PIPE, text=True,
                            env=env)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line.rstrip())
            if "http://" in line:
                break
        base = f"http://127.0.0.1:{args.port}"
        print(f"{'answer':<46} {'first':>8} {'median':>8} {'slowest':>8} {'bytes':>9}")
        worst = 0.0
        for path in PATHS:
            first, median, slowest, size = asyncio.run(
                _time(base + path.format(ref=ref), args.rounds))
            worst = max(worst, first, slowest)
            print(f"{path.format(ref=ref):<46} {first:>6.1f}ms {median:>6.1f}ms"
                  f" {slowest:>6.1f}ms {size:>9,}")
        print(f"slowest answer of all: {worst:.0f} ms")
        status = Path(f"/proc/{proc.pid}/status")
        if status.exists():  # Linux: what the dashboard holds in memory for these rows
            rss = next(line for line in status.read_text().splitlines()
                       if line.startswith("VmRSS:"))
            print(f"dashboard resident memory: {int(rss.split()[1]) / 1024:.0f} MB")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
