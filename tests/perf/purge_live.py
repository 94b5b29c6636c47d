"""``wxloan purge`` on a live server: 1,000,000 old messages deleted under a steady load.

Run (from the repository root; not part of pytest)::

    python -m tests.perf.purge_live                     # 1M messages, 150 msg/s, --vacuum
    python -m tests.perf.purge_live --rate 200 --messages 200000 --vacuum none
    python -m tests.perf.purge_live --baseline          # the old one-transaction purge

What it does, as an operator would: prefills a database with ``--messages`` messages a
day old (``tests/perf/prefill.py``: 100,000 users, their sessions, a processed key per
inbound message); switches it to ``auto_vacuum=INCREMENTAL`` (one full
``VACUUM`` before anything serves it: what the first ``purge --vacuum`` does) unless
``--vacuum full|none``; starts ``python -m wxloan serve`` on 127.0.0.1 (pinned to core 0);
sends signed safe-mode pushes at a fixed rate from new users in multi-turn conversations
(open loop: one every 1/rate s whatever the answers, at most ``--max-inflight`` waiting);
after ``--warmup`` s runs ``wxloan purge --older-than DAYS --yes [--vacuum]`` as a second
process (core 1, with this client); keeps the load ``--after`` s after it ends; stops.

Prints the purge's own figures (batches, the longest time one held the write lock — the
longest a server commit can wait for it — and the vacuum's bytes); what a probe writer
(a second process writing like the server's writer thread every 10 ms: flock, one insert,
commit) waited during the purge; and the latency of the requests sent before, during and
after the purge, and how many were late: over the 4.5 s deadline, or answered ``success``
(the deadline fallback). Traffic goes to 127.0.0.1
only; the run is bounded by ``--max-seconds``; every process is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from tests.perf.bench import AES_KEY, APP_ID, ROOT, TOKEN, _server
from tests.perf.workload import generate

DEADLINE_S = 4.5

#: ``--baseline``: the purge as it was, one transaction under the writer lock (what
#: ``Store.purge`` did through the group-commit writer), for comparison.
_OLD_PURGE = """
import fcntl, os, sqlite3, sys, time
db, before = sys.argv[1], time.time() - float(sys.argv[2]) * 86400
fd = os.open(db + ".writelock", os.O_RDWR | os.O_CREAT, 0o600)
conn = sqlite3.connect(db, isolation_level=None)
conn.execute("PRAGMA busy_timeout=5000")
started = time.perf_counter()
fcntl.flock(fd, fcntl.LOCK_EX)
conn.execute("BEGIN IMMEDIATE")
for table, column in [("messages", "created_at"), ("processed", "created_at"),
                      ("assessments", "created_at"), ("sessions", "updated_at"),
                      ("users", "last_seen"), ("deliveries", "created_at"),
                      ("quota_grants", "expires_at")]:
    conn.execute(f"DELETE FROM {table} WHERE {column} < ?", (before,))
conn.execute("COMMIT")
fcntl.flock(fd, fcntl.LOCK_UN)
print(f"1 batches in {time.perf_counter() - started:.1f} s; the longest held the write lock"
      f" {(time.perf_counter() - started) * 1000:.1f} ms")
"""


#: A writer like the server's (flock, BEGIN IMMEDIATE, one insert, COMMIT) every 10 ms:
#: how long each write waited and took, in the server's place. Prints JSON at the end.
_PROBE = """
import fcntl, json, os, sqlite3, sys, time
db, stop = sys.argv[1], sys.argv[2]
fd = os.open(db + ".writelock", os.O_RDWR | os.O_CREAT, 0o600)
conn = sqlite3.connect(db, isolation_level=None)
conn.execute("PRAGMA busy_timeout=5000")
conn.execute("PRAGMA synchronous=NORMAL")
seen = []
while not os.path.exists(stop):
    asked = time.monotonic()
    fcntl.flock(fd, fcntl.LOCK_EX)
    got = time.monotonic()
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO messages (openid, direction, msg_type, content, created_at)"
                 " VALUES ('probe-writer', 'in', 'text', 'probe', ?)", (time.time(),))
    conn.execute("COMMIT")
    fcntl.flock(fd, fcntl.LOCK_UN)
    seen.append((asked, got - asked, time.monotonic() - asked))
    time.sleep(0.01)
print(json.dumps(seen))
"""


@dataclass(slots=True)
class Sent:
    at: float  # when it was sent, seconds since the load started
    latency: float
    status: int
    success: bool  # answered "success": the deadline fallback


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _summary(label: str, sent: list[Sent]) -> dict[str, float | int | str]:
    lat = [s.latency * 1000 for s in sent]
    late = sum(1 for s in sent if s.latency > DEADLINE_S or s.success or s.status != 200)
    return {"phase": label, "requests": len(sent),
            "p50_ms": round(_percentile(lat, 0.50), 1), "p99_ms": round(_percentile(lat, 0.99), 1),
            "max_ms": round(max(lat, default=float("nan")), 1), "late": late,
            "errors": sum(1 for s in sent if s.status != 200)}


async def _load(port: int, requests: list[tuple[str, str]], rate: float, max_inflight: int,
                purge_cmd: list[str], warmup: float, after: float, max_seconds: float,
                ) -> tuple[list[Sent], float, float, float, str, int]:
    base = f"http://127.0.0.1:{port}"
    results: list[Sent] = []
    inflight = asyncio.Semaphore(max_inflight)
    skipped = 0
    purge_window = [float("nan"), float("nan")]
    purge_out = ""
    timeout = aiohttp.ClientTimeout(total=30)
    connector = aiohttp.TCPConnector(limit=max_inflight)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:
        started = time.monotonic()

        async def one(path: str, body: str) -> None:
            at = time.monotonic()
            try:
                async with http.post(base + path, data=body.encode(),
                                     headers={"Content-Type": "text/xml"}) as resp:
                    text = await resp.text()
                    results.append(Sent(at - started, time.monotonic() - at, resp.status,
                                        text.strip() == "success"))
            except (aiohttp.ClientError, asyncio.TimeoutError):
                results.append(Sent(at - started, time.monotonic() - at, 0, False))
            finally:
                inflight.release()

        async def purge() -> None:
            nonlocal purge_out
            await asyncio.sleep(warmup)
            purge_window[0] = time.monotonic() - started
            proc = await asyncio.create_subprocess_exec(
                *purge_cmd, cwd=ROOT, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT)
            try:
                out, _ = await asyncio.wait_for(proc.communicate(), max_seconds)
            except asyncio.TimeoutError:
                proc.kill()
                out, _ = await proc.communicate()
                out += b"\n(purge killed: over --max-seconds)"
            purge_window[1] = time.monotonic() - started
            purge_out = out.decode()

        purge_task = asyncio.create_task(purge())
        tasks = []
        for n, (path, body) in enumerate(requests):
            due = started + n / rate
            now = time.monotonic()
            if due > now:
                await asyncio.sleep(due - now)
            elapsed = time.monotonic() - started
            if elapsed > max_seconds or (purge_task.done() and elapsed > purge_window[1] + after):
                break
            if inflight.locked():
                skipped += 1  # the open loop would exceed max_inflight: counted, not sent
                continue
            await inflight.acquire()
            tasks.append(asyncio.create_task(one(path, body)))
        await purge_task
        await asyncio.gather(*tasks)
    return results, started, purge_window[0], purge_window[1], purge_out, skipped


def _prepare(path: Path, messages: int, users: int, vacuum: str) -> str:
    from tests.perf.prefill import prefill_synthetic

    started = time.monotonic()
    prefill_synthetic(path, users=users, messages=messages)
    note = f"prefilled {messages:,} messages / {users:,} users in {time.monotonic() - started:.1f} s"
    if vacuum == "incremental":
        started = time.monotonic()
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
        conn.execute("VACUUM")
        conn.close()
        note += f"; auto_vacuum=INCREMENTAL (full VACUUM) in {time.monotonic() - started:.1f} s"
    return note + f"; {path.stat().st_size:,} bytes"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=150.0, help="pushes per second")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of load before")
    parser.add_argument("--after", type=float, default=3.0, help="seconds of load after")
    parser.add_argument("--max-seconds", type=float, default=180.0, help="bound on the run")
    parser.add_argument("--max-inflight", type=int, default=1024)
    parser.add_argument("--older-than", type=float, default=0.5, metavar="DAYS",
                        help="the prefilled data is one day old (default 0.5: all of it)")
    parser.add_argument("--vacuum", choices=["incremental", "full", "none"],
                        default="incremental",
                        help="incremental: switch the file first, purge --vacuum live; full: "
                        "purge --vacuum on a file without auto_vacuum (a full VACUUM under "
                        "load, which the README warns about); none: no --vacuum")
    parser.add_argument("--baseline", action="store_true",
                        help="run the old purge (one transaction) instead, for comparison")
    args = parser.parse_args()
    if args.baseline:
        args.vacuum = "none"
    if os.cpu_count() and os.cpu_count() >= 2:  # type: ignore[operator]
        os.sched_setaffinity(0, {1})  # the server has core 0; this client and the purge 1
    print(f"purge_live: {args.messages:,} messages, {args.rate:.0f} msg/s, "
          f"vacuum={args.vacuum}, cpus={os.cpu_count()}, python={sys.version.split()[0]}",
          flush=True)
    with tempfile.TemporaryDirectory(prefix="wxloan-purge-") as name:
        tmp = Path(name)
        db = tmp / "live.db"
        print(_prepare(db, args.messages, args.users, args.vacuum), flush=True)
        count = int(args.rate * args.max_seconds) + 1
        requests_file = tmp / "requests.txt"
        generate(requests_file, users=max(1000, count // 6), token=TOKEN, app_id=APP_ID,
                 aes_key=AES_KEY, mode="safe", limit=count)
        requests = [tuple(line.rstrip("\n").split("\t", 1))
                    for line in requests_file.read_text(encoding="utf-8").splitlines()]
        purge_cmd = [sys.executable, "-m", "wxloan", "purge", "--older-than", str(args.older_than),
                     "--yes", "--db", str(db)]
        if args.vacuum != "none":
            purge_cmd.append("--vacuum")
        if args.baseline:
            purge_cmd = [sys.executable, "-c", _OLD_PURGE, str(db), str(args.older_than)]
        stop = tmp / "stop-probe"
        with _server("bot", db, 1, cores="0") as (port, _proc, startup):
            print(f"server healthy after {startup:.2f} s on 127.0.0.1:{port}", flush=True)
            probe = subprocess.Popen(["taskset", "-c", "0", sys.executable, "-c", _PROBE,
                                      str(db), str(stop)], stdout=subprocess.PIPE, text=True)
            try:
                sent, started, p0, p1, purge_out, skipped = asyncio.run(_load(
                    port, requests, args.rate, args.max_inflight,  # type: ignore[arg-type]
                    purge_cmd, args.warmup, args.after, args.max_seconds))
            finally:
                stop.touch()
                probe_out, _ = probe.communicate(timeout=60)
        writes = [(at - started, wait, total) for at, wait, total in json.loads(probe_out)]
        during = [(wait, total) for at, wait, total in writes if p0 <= at <= p1]
        probe_summary = {
            "writes": len(during),
            "max_wait_ms": round(1000 * max((w for w, _ in during), default=0.0), 1),
            "p99_total_ms": round(1000 * _percentile([t for _, t in during], 0.99), 1),
            "max_total_ms": round(1000 * max((t for _, t in during), default=0.0), 1),
        }
        print(purge_out.strip())
        print(f"probe writer during the purge: {probe_summary['writes']} writes, waited for the"
              f" lock at most {probe_summary['max_wait_ms']} ms; whole write p99"
              f" {probe_summary['p99_total_ms']} ms, max {probe_summary['max_total_ms']} ms")
        phases = [
            _summary("before purge", [s for s in sent if s.at < p0]),
            _summary("during purge", [s for s in sent if p0 <= s.at <= p1]),
            _summary("after purge", [s for s in sent if s.at > p1]),
            _summary("whole run", sent),
        ]
        for phase in phases:
            print(f"{phase['phase']:<13} {phase['requests']:>6} requests  p50 {phase['p50_ms']:7.1f}"
                  f" ms  p99 {phase['p99_ms']:7.1f} ms  max {phase['max_ms']:7.1f} ms  late"
                  f" {phase['late']}  errors {phase['errors']}")
        if skipped:
            print(f"note: {skipped} pushes not sent (over --max-inflight)")
        hold = re.search(r"longest held the write lock ([\d.]+) ms", purge_out)
        vac = re.search(r"vacuum \((\w+), ([\d.]+) s, (\d+) steps, the longest ([\d.]+) ms\):"
                        r" ([\d,]+) → ([\d,]+) bytes", purge_out)
        print(json.dumps({
            "messages": args.messages, "rate": args.rate, "purge_s": round(p1 - p0, 2),
            "max_batch_hold_ms": float(hold.group(1)) if hold else None,
            "vacuum": None if vac is None else {
                "mode": vac.group(1), "seconds": float(vac.group(2)), "steps": int(vac.group(3)),
                "max_hold_ms": float(vac.group(4)),
                "bytes_before": int(vac.group(5).replace(",", "")),
                "bytes_after": int(vac.group(6).replace(",", ""))},
            "phases": phases, "skipped": skipped, "probe_writer": probe_summary,
        }))


if __name__ == "__main__":
    main()
