"""The wxloan benchmark: full dialogue with durable state vs. an aiohttp+wechatpy echo.

Run (from the repository root, after ``pip install -e '.[test]'`` and ``apt-get install wrk``)::

    python -m tests.perf.bench                 # safe mode, A/B/A/B against the echo baseline
    python -m tests.perf.bench --mode plain
    python -m tests.perf.bench --growth        # 1,000,000 stored messages vs. an empty db
    python -m tests.perf.bench --workers 2     # 2 worker processes vs. 1

Each server is started as a user would (``python -m wxloan serve``), with a fresh database in a
temp dir, pinned to core 0 with ``taskset``; ``wrk`` runs on core 1 with 64 connections
for a fixed duration, cycling through pre-generated signed requests (thousands of users
in multi-turn conversations, unique MsgIds, fresh timestamps). Loopback only; every
process is stopped at the end. Prints req/s, latency percentiles, errors, replies over
4.5 s, the server's RSS before and after, and the ratios.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from wxloan.bot.simulator.local import random_aes_key
from tests.perf.workload import generate

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
TOKEN = "bench-token-" + os.urandom(4).hex()
APP_ID = "wxbench0000000001"
AES_KEY = random_aes_key()


@dataclass
class RunResult:
    label: str
    rps: float
    p50: float
    p90: float
    p99: float
    max_ms: float
    errors: int
    requests: int
    rss_before_mb: float
    rss_after_mb: float

    def line(self) -> str:
        return (f"{self.label:<22} {self.rps:>9,.0f} req/s  p50 {self.p50:6.2f} ms  "
                f"p90 {self.p90:6.2f} ms  p99 {self.p99:7.2f} ms  max {self.max_ms:8.1f} ms  "
                f"errors {self.errors}  over4.5s {int(self.max_ms > 4500)}  "
                f"RSS {self.rss_before_mb:.0f}→{self.rss_after_mb:.0f} MB")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_mb(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
    return total


def _children(pid: int) -> list[int]:
    found = [pid]
    with contextlib.suppress(OSError):
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            found.extend(_children(int(child)))
    return found


def _wait_healthy(port: int, timeout: float = 30.0) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                if r.status == 200:
                    return time.monotonic() - started
        time.sleep(0.02)
    raise RuntimeError(f"server on port {port} did not become healthy")


@contextlib.contextmanager
def _server(kind: str, db_path: Path, workers: int = 1, cores: str = "0",
            extra_env: dict[str, str] | None = None) -> Iterator[
        tuple[int, subprocess.Popen[bytes], float]]:
    port = _free_port()
    env = {**os.environ, "WECHAT_TOKEN": TOKEN, "WECHAT_APP_ID": APP_ID,
           "WECHAT_ENCODING_AES_KEY": AES_KEY, "WXLOAN_DB": str(db_path),
           "PYTHONUNBUFFERED": "1", **(extra_env or {})}
    if kind == "echo":
        cmd = [sys.executable, "-m", "tests.perf.echo_server", "--port", str(port)]
    else:
        # "staged": the same server with per-stage counters (tests/perf/stages.py)
        launcher = "tests.perf.stages" if kind == "staged" else "wxloan"
        cmd = [sys.executable, "-m", launcher, "serve", "--port", str(port)]
        if workers > 1:
            cmd += ["--workers", str(workers)]
    log = open(db_path.with_suffix(".log"), "wb")  # noqa: SIM115
    started = time.monotonic()
    proc = subprocess.Popen(["taskset", "-c", cores, *cmd], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_healthy(port)
        yield port, proc, time.monotonic() - started
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _parse_ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def _wrk(port: int, requests_file: Path, duration: int, connections: int) -> dict[str, float]:
    out = subprocess.run(
        ["taskset", "-c", "1", "wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency",
         "--timeout", "10s", "-s", str(HERE / "replay.lua"), f"http://127.0.0.1:{port}",
         "--", str(requests_file)],
        capture_output=True, text=True, timeout=duration + 60, check=True,
    ).stdout
    percentiles = dict(re.findall(r"^\s+(50|90|99)%\s+(\S+)\s*$", out, re.M))
    if len(percentiles) < 3:
        raise RuntimeError(f"could not read wrk's output:\n{out}")
    errors = sum(int(n) for n in re.findall(
        r"(?:connect|read|write|timeout) (\d+)", out))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "requests": float(re.search(r"(\d+) requests in", out).group(1)),  # type: ignore[union-attr]
        "p50": _parse_ms(percentiles["50"]),
        "p90": _parse_ms(percentiles["90"]),
        "p99": _parse_ms(percentiles["99"]),
        "max": _parse_ms(re.search(r"Latency\s+\S+\s+\S+\s+(\S+)", out).group(1)),  # type: ignore[union-attr]
        "errors": errors + (int(non2xx.group(1)) if non2xx else 0),
    }


def one_run(label: str, kind: str, tmp: Path, args: argparse.Namespace, *,
            db_path: Path | None = None, workers: int = 1, cores: str = "0",
            extra_env: dict[str, str] | None = None,
            database_cpu: Callable[[], float] | None = None) -> RunResult:
    db_path = db_path or tmp / f"{label.replace(' ', '_')}-{time.monotonic_ns()}.db"
    requests_file = tmp / "requests.txt"
    count = generate(requests_file, users=args.users, token=TOKEN, app_id=APP_ID,
                     aes_key=AES_KEY, mode=args.mode, limit=args.requests)
    with _server(kind, db_path, workers, cores, extra_env) as (port, proc, startup):
        pids = _children(proc.pid)
        rss_before = _rss_mb(pids)
        cpu_before, started = (database_cpu() if database_cpu else 0.0), time.monotonic()
        stats = _wrk(port, requests_file, args.duration, args.connections)
        if database_cpu is not None:
            share = (database_cpu() - cpu_before) / (time.monotonic() - started)
            print(f"  database server CPU: {share:.0%} of one core", flush=True)
        rss_after = _rss_mb(_children(proc.pid))
    if stats["requests"] > count:
        print(f"  note: wrk sent {stats['requests']:.0f} requests but only {count} were generated;"
              " the rest were answered as retries", file=sys.stderr)
    result = RunResult(label, stats["rps"], stats["p50"], stats["p90"], stats["p99"],
                       stats["max"], int(stats["errors"]), int(stats["requests"]),
                       rss_before, rss_after)
    print(result.line() + f"  (healthy after {startup:.2f} s)", flush=True)
    return result


def _ratio(a: list[RunResult], b: list[RunResult]) -> float:
    return statistics.mean(r.rps for r in a) / statistics.mean(r.rps for r in b)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["safe", "plain"], default="safe")
    parser.add_argument("--duration", type=int, default=20, help="seconds per run")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=2, help="A/B pairs")
    parser.add_argument("--users", type=int, default=30000)
    parser.add_argument("--requests", type=int, default=200000)
    parser.add_argument("--growth", action="store_true",
                        help="compare 1,000,000 stored messages with an empty database")
    parser.add_argument("--postgres", action="store_true",
                        help="one node on SQLite vs one on PostgreSQL, then two nodes")
    parser.add_argument("--stages", action="store_true",
                        help="also run once with per-stage counters and print the table")
    parser.add_argument("--workers", type=int, default=0,
                        help="compare N worker processes (on both cores) with 1")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    print(f"wxloan benchmark: mode={args.mode} duration={args.duration}s "
          f"connections={args.connections} cpus={os.cpu_count()} "
          f"python={sys.version.split()[0]}", flush=True)
    with tempfile.TemporaryDirectory(prefix="wxloan-bench-") as name:
        tmp = Path(name)
        if args.growth:
            from tests.perf.prefill import prefill_synthetic

            loaded_db = tmp / "loaded.db"
            started = time.monotonic()
            prefill_synthetic(loaded_db, users=100_000, messages=1_000_000)
            print(f"prefilled 1,000,000 messages / 100,000 users in "
                  f"{time.monotonic() - started:.1f} s", flush=True)
            empty, loaded = [], []
            for _ in range(args.rounds):
                empty.append(one_run("wxloan empty db", "bot", tmp, args))
                copy = tmp / f"loaded-{time.monotonic_ns()}.db"
                shutil.copy(loaded_db, copy)
                loaded.append(one_run("wxloan 1M messages", "bot", tmp, args, db_path=copy))
            print(f"loaded ÷ empty = {_ratio(loaded, empty):.2f}")
            return
        if args.postgres:
            _postgres_runs(tmp, args)
            return
        if args.workers > 1:
            one, many = [], []
            for _ in range(args.rounds):
                one.append(one_run("wxloan 1 worker", "bot", tmp, args, cores="0,1"))
                many.append(one_run(f"wxloan {args.workers} workers", "bot", tmp, args,
                                    workers=args.workers, cores="0,1"))
            print(f"{args.workers} workers ÷ 1 worker = {_ratio(many, one):.2f} "
                  "(server and wrk share both cores here)")
            return
        base, project = [], []
        for _ in range(args.rounds):
            base.append(one_run(f"echo baseline {args.mode}", "echo", tmp, args))
            project.append(one_run(f"wxloan {args.mode}", "bot", tmp, args))
        print(f"wxloan ÷ echo baseline = {_ratio(project, base):.2f}")
        print(json.dumps({"mode": args.mode, "ratio": round(_ratio(project, base), 3)}))
        if args.stages:
            _stage_run(tmp, args, project)


def _postgres_runs(tmp: Path, args: argparse.Namespace) -> None:
    """One node on SQLite vs one on PostgreSQL (A B A B), then two nodes on PostgreSQL.

    The node runs on core 0; the PostgreSQL server (every backend) and wrk share core 1.
    """
    from tests.postgres import cpu_seconds, running_server

    with running_server(cpus="1") as pg:
        def url() -> dict[str, str]:
            return {"WXLOAN_DB": pg.url(pg.create_database())}

        lite, post = [], []
        for _ in range(args.rounds):
            lite.append(one_run("wxloan sqlite", "bot", tmp, args))
            post.append(one_run("wxloan postgresql", "bot", tmp, args, extra_env=url(),
                                database_cpu=cpu_seconds))
        print(f"postgresql ÷ sqlite = {_ratio(post, lite):.2f} (one node on core 0; "
              "the database server and wrk on core 1)")
        if args.rounds:
            two = _two_nodes(tmp, args, url())
            print(f"two nodes ÷ one node on postgresql = {two / statistics.mean(r.rps for r in post):.2f}"
                  " (nodes on cores 0 and 1, sharing them with the database server and wrk)")


def _two_nodes(tmp: Path, args: argparse.Namespace, env: dict[str, str]) -> float:
    """Two nodes on one PostgreSQL database, each driven by its own wrk: total req/s."""
    files = [tmp / "requests-a.txt", tmp / "requests-b.txt"]
    for requests_file in files:  # other users in each: the nodes share no message
        generate(requests_file, users=args.users // 2, token=TOKEN, app_id=APP_ID,
                 aes_key=AES_KEY, mode=args.mode, limit=args.requests // 2)
    with _server("bot", tmp / "n1.db", cores="0", extra_env=env) as (port_a, _, _), \
            _server("bot", tmp / "n2.db", cores="1", extra_env=env) as (port_b, _, _):
        results: dict[int, dict[str, float]] = {}

        def drive(port: int, requests_file: Path) -> None:
            results[port] = _wrk(port, requests_file, args.duration, args.connections // 2)

        import threading

        threads = [threading.Thread(target=drive, args=pair)
                   for pair in zip((port_a, port_b), files, strict=True)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    total = sum(r["rps"] for r in results.values())
    worst = max(r["p99"] for r in results.values())
    errors = sum(r["errors"] for r in results.values())
    print(f"{'wxloan 2 nodes, postgresql':<22} {total:>9,.0f} req/s  p99 {worst:7.2f} ms  "
          f"errors {errors:.0f}", flush=True)
    return total


def _stage_run(tmp: Path, args: argparse.Namespace, plain: list[RunResult]) -> None:
    """One more run with per-stage counters; print µs per message for each stage."""
    from tests.perf.stages import table

    totals = tmp / "stages.json"
    staged = one_run(f"wxloan {args.mode} staged", "staged", tmp, args,
                     extra_env={"WXLOAN_STAGE_TIMES": str(totals)})
    data = json.loads(totals.read_text())
    messages = int(data["messages"])
    print(f"\nper-stage CPU, µs per message ({messages:,} messages; the counters cost "
          f"{1 - staged.rps / statistics.mean(r.rps for r in plain):.0%} of the req/s):")
    for name, micros in table(data["ns"], messages):
        print(f"  {name:<48} {micros:8.1f}")
    calls = ", ".join(f"{k} {v / messages:.2f}" for k, v in sorted(data["calls"].items()))
    print(f"  calls per message: {calls}")
    for generation in ("gc0", "gc1", "gc2"):
        n = data["calls"].get(generation, 0)
        if n:
            print(f"  {generation}: {n} collections, {data['ns'][generation] / n / 1000:.0f} µs each")


if __name__ == "__main__":
    main()
