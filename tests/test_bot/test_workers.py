"""Several worker processes on one database file.

De-duplication, per-user ordering and session updates must hold across processes, not
only inside one: two apps (two stores, as two workers have) on one SQLite file, and a real
``wxloan serve --workers 2``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from wxloan.handlers.contract import Outcome, Say, Turn
from wxloan.handlers.contract import Kind
from wxloan.handlers.routing import Router
from tests.conftest import rows
from tests.wechat import TOKEN, WeChat, message_xml

from .serving import Serve, child_env, free_port

ROOT = Path(__file__).resolve().parents[2]


def counting_router(delay: float = 0.0, calls: list[str] | None = None) -> Router:
    """Each message adds one to ``slots["count"]`` and replies with the new count."""
    router = Router("count")

    @router.on(Kind.TEXT)
    async def count(turn: Turn) -> Outcome:
        if calls is not None:
            calls.append(turn.text)
        await asyncio.sleep(delay)
        value = int(turn.state.slots.get("count", 0)) + 1
        return turn.stay(Say("more_page", {"text": f"count={value}"}), slots={"count": value})

    return router


async def test_a_retry_on_another_worker_gets_the_one_stored_reply(make_wechat, db_path, clock):
    calls: list[str] = []
    worker_a = await make_wechat(router=counting_router(delay=0.3, calls=calls))
    worker_b = await make_wechat(router=counting_router(delay=0.0, calls=calls))
    xml = message_xml("user-x", "text", int(clock()), Content="hi", MsgId=424242)
    first, retry = await asyncio.gather(worker_a.post(xml), worker_b.post(xml))
    assert first.content == retry.content == "count=1"
    assert rows(db_path, "SELECT COUNT(*) FROM messages WHERE direction = 'in'") == [(1,)]
    later = await worker_a.post(xml)  # and every later retry, on either worker
    assert later.content == "count=1"


async def test_session_updates_alternating_between_workers_are_never_lost(make_wechat, clock):
    worker_a = await make_wechat(router=counting_router())
    worker_b = await make_wechat(router=counting_router())
    replies = []
    for n in range(8):
        worker = worker_a if n % 2 == 0 else worker_b
        replies.append((await worker.text("user-y", f"m{n}")).content)
    assert replies == [f"count={n}" for n in range(1, 9)]


async def test_concurrent_messages_of_one_user_on_two_workers_all_count(make_wechat, db_path):
    worker_a = await make_wechat(router=counting_router(delay=0.05))
    worker_b = await make_wechat(router=counting_router(delay=0.05))
    await asyncio.gather(*(
        (worker_a if n % 2 else worker_b).text("user-z", f"m{n}") for n in range(10)
    ))
    slots = rows(db_path, "SELECT slots FROM sessions WHERE openid = 'user-z'")[0][0]
    assert '"count":10' in slots  # every message counted once, none lost to a race


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_serve_with_two_workers_answers_on_one_port(tmp_path, aiohttp_client):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WECHAT_", "WXA_", "WXLOAN"))}
    env.update(WECHAT_TOKEN=TOKEN, WXLOAN_DB=str(tmp_path / "w.db"))
    proc = subprocess.Popen([sys.executable, "-m", "wxloan", "serve", "--workers", "2", "--port",
                             str(port)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.1)
        children_file = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
        while len(children_file.read_text().split()) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(children_file.read_text().split()) == 2
        import aiohttp

        async with aiohttp.ClientSession(base_url=f"http://127.0.0.1:{port}") as http:
            wechat = WeChat(http)  # type: ignore[arg-type]
            replies = await asyncio.gather(*(wechat.text(f"u{n}", "你好") for n in range(40)))
        assert all("回复数字开始" in r.content for r in replies)
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=15)
    assert proc.returncode == 0, stderr.decode()[-3000:]


# -- the supervisor (real processes, synchronised on their log lines) ----------------------


def _two_workers(tmp_path: Path) -> tuple[Serve, int]:
    port = free_port()
    server = Serve("--workers", "2", "--port", str(port), "--db", str(tmp_path / "w.db"),
                   env=child_env(WECHAT_TOKEN=TOKEN))
    return server, port


async def _answers(port: int, count: int) -> list[str]:
    import aiohttp

    async with aiohttp.ClientSession(base_url=f"http://127.0.0.1:{port}") as http:
        wechat = WeChat(http)  # type: ignore[arg-type]
        replies = await asyncio.gather(*(wechat.text(f"k{n}", "你好") for n in range(count)))
    return [r.content for r in replies]


def test_a_killed_worker_is_restarted_and_sigterm_stops_all_cleanly(tmp_path):
    server, port = _two_workers(tmp_path)
    try:
        pids = server.wait_for("wxloan serving")["pids"]
        assert len(pids) == 2 and server.children() == set(pids)
        os.kill(pids[0], signal.SIGKILL)
        exited = server.wait_for("worker exited", lambda e: e["pid"] == pids[0])
        assert exited["signal"] == "SIGKILL" and exited["restart_in_s"] == 0.5
        assert exited["level"] == "ERROR" and exited["was_serving"] is True
        new = server.wait_for("worker restarted")["pid"]
        assert new not in pids and server.children() == {new, pids[1]}
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as resp:
            assert resp.status == 200
        assert all("回复数字开始" in text for text in asyncio.run(_answers(port, 20)))

        server.proc.send_signal(signal.SIGTERM)
        assert server.wait_exit() == 0, server.text()
        stopped = server.logged("stopped")
        assert len(stopped) == 1 and stopped[0]["signal"] == "SIGTERM"
        assert stopped[0]["workers"] == [{"pid": new, "exit_code": 0},
                                         {"pid": pids[1], "exit_code": 0}]
        assert len(server.logged("worker exited")) == 1  # the stop is not a death
    finally:
        server.close()


def test_workers_that_keep_dying_make_the_supervisor_give_up(tmp_path):
    server, _ = _two_workers(tmp_path)
    try:
        pids = server.wait_for("wxloan serving")["pids"]
        db = tmp_path / "w.db"  # from now on no worker can open it
        db.rename(tmp_path / "moved.db")
        db.mkdir()
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        assert server.wait_exit() == 1, server.text()
    finally:
        server.close()
    last = server.lines[-1]
    assert last.startswith("wxloan: workers keep dying, giving up after 6 exits"), last
    assert "exit code 2: --db / WXLOAN_DB:" in last and "is a directory" in last
    failed = server.logged("worker failed to start")
    assert failed and all("is a directory" in e["error"] for e in failed)
    exits = server.logged("worker exited")
    assert len(exits) == 6
    for worker in (0, 1):  # each worker's restarts back off: 0.5 s, 1 s, 2 s, ...
        delays = [e["restart_in_s"] for e in exits if e["worker"] == worker]
        delays = [d for d in delays if d is not None]
        assert delays == [0.5 * 2**n for n in range(len(delays))], exits
    assert exits[-1]["restart_in_s"] is None  # given up: not restarted
