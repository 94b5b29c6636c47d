"""Start-up failures of ``wxloan serve`` and ``wxloan chat``: one line, exit 2, no traceback.

The main cases are real ``python -m bot`` processes, all launched at once by one module
fixture (each costs an interpreter start, about a second of imports), then checked one per
test; a few variants of the same checks run in-process through :func:`bot.cli.main`.
"""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from wxloan.bot.cli import main
from tests.wechat import TOKEN

from .serving import ROOT, Serve, child_env, free_port, wxloan

ENV = child_env(WECHAT_TOKEN=TOKEN)


def _cases(tmp: Path, busy_port: int) -> dict[str, tuple[list[str], list[str]]]:
    """name → (argv, what the one stderr line must contain)."""
    (tmp / "a-directory.db").mkdir()
    closed = free_port()
    db = str(tmp / "ok.db")
    return {
        "port in use": (["serve", "--port", str(busy_port), "--db", db],
                        ["--port", f"127.0.0.1:{busy_port}", "already in use"]),
        "db is a directory": (["serve", "--db", str(tmp / "a-directory.db")],
                              ["--db / WXLOAN_DB", "is a directory"]),
        "db in a missing folder": (["serve", "--db", str(tmp / "missing" / "x.db")],
                                   ["--db / WXLOAN_DB", str(tmp / "missing"),
                                    "does not exist"]),
        "db where no file can be made": (["serve", "--db", "/proc/wxloan-test.db"],
                                         ["--db / WXLOAN_DB", "cannot create",
                                          "/proc/wxloan-test.db"]),
        "host not of this machine": (["serve", "--host", "192.0.2.1", "--db", db],
                                     ["--host", "192.0.2.1", "not an address of this machine"]),
        "workers 0": (["serve", "--workers", "0", "--db", db], ["--workers", "at least 1"]),
        "chat to a closed port": (
            ["chat", "--url", f"http://127.0.0.1:{closed}/wechat", "--token", TOKEN],
            ["--url", f"127.0.0.1:{closed}", "connection refused"]),
        "chat in safe mode without a key": (
            ["chat", "--url", f"http://127.0.0.1:{closed}/wechat", "--token", TOKEN,
             "--mode", "safe"],
            ["--mode safe", "--aes-key"]),
    }


@pytest.fixture(scope="module")
def refused(tmp_path_factory):
    """Every case's (exit code, stdout, stderr), the processes run side by side."""
    tmp = tmp_path_factory.mktemp("startup")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        cases = _cases(tmp, busy.getsockname()[1])
        assert list(cases) == NAMES
        procs = {name: wxloan(*argv, env=ENV) for name, (argv, _) in cases.items()}
        results = {}
        for name, proc in procs.items():
            try:
                out, err = proc.communicate("你好\n", timeout=60)  # chat sends it
            finally:
                if proc.poll() is None:
                    proc.kill()
            results[name] = (proc.returncode, out, err)
    return tmp, cases, results


NAMES = [
    "port in use", "db is a directory", "db in a missing folder",
    "db where no file can be made", "host not of this machine", "workers 0",
    "chat to a closed port", "chat in safe mode without a key",
]


@pytest.mark.parametrize("name", NAMES)
def test_refused_start_is_one_line_and_exit_2(refused, name):
    _, cases, results = refused
    code, out, err = results[name]
    lines = err.splitlines()
    assert code == 2, err
    assert len(lines) == 1, err  # no traceback, no log line before it ("serving" above all)
    assert lines[0].startswith("wxloan: ")
    for part in cases[name][1]:
        assert part in lines[0]
    assert out == ""  # not even the generated-token notice


def test_a_missing_folder_is_not_created(refused):
    tmp, _, _ = refused
    assert not (tmp / "missing").exists()
    assert not (tmp / "ok.db").exists()  # refused before the database was opened


@pytest.fixture
def busy_port():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        yield busy.getsockname()[1]


@pytest.mark.usefixtures("clean_env", "restore_logging")
@pytest.mark.parametrize(("argv", "parts"), [
    (["--db", "{tmp}/a-file/x.db"], ["--db / WXLOAN_DB", "a-file is a file, not a folder"]),
    (["--db", "{tmp}/a-file/deeper/x.db"], ["a-file is a file, not a folder"]),
    (["--workers", "-1"], ["--workers must be at least 1, got -1"]),
    (["--workers", "2", "--port", "{busy}"], ["--port: 127.0.0.1:{busy} is already in use"]),
    (["--workers", "2", "--db", "{tmp}/missing/x.db"], ["{tmp}/missing does not exist"]),
    (["--host", "2001:db8::1", "--workers", "3"], ["--host"]),  # documentation range
], ids=["under a file", "deeper under a file", "workers -1", "two workers, port in use",
        "two workers, missing folder", "ipv6 host"])
def test_refusals_in_process(argv, parts, tmp_path, busy_port, capsys, monkeypatch):
    def must_not_serve(*_args: object) -> None:
        raise AssertionError("serve got past its start-up checks")

    monkeypatch.setattr("wxloan.bot.cli.run_single", must_not_serve)
    monkeypatch.setattr("wxloan.bot.cli.Supervisor", must_not_serve)
    (tmp_path / "a-file").write_text("not a folder")
    monkeypatch.setenv("WECHAT_TOKEN", TOKEN)
    fill = {"tmp": str(tmp_path), "busy": str(busy_port)}
    argv = [a.format(**fill) for a in argv]
    if "--db" not in argv:
        argv += ["--db", str(tmp_path / "ok.db")]
    assert main(["serve", *argv]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1 and err.startswith("wxloan: "), err
    for part in parts:
        assert part.format(**fill) in err
    assert not (tmp_path / "ok.db").exists()


def test_one_worker_serves_once_listening_and_stops_on_sigterm(tmp_path):
    port = free_port()
    server = Serve("--port", str(port), "--db", str(tmp_path / "one.db"), env=ENV)
    try:
        serving = server.wait_for("wxloan serving")
        assert serving["workers"] == 1 and serving["pids"] == [server.proc.pid]
        # "serving" is logged only once the port listens: no retry needed
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as resp:
            assert json.loads(resp.read())["database"] == "ok"
        server.proc.send_signal(signal.SIGTERM)
        assert server.wait_exit() == 0, server.text()
        assert server.logged("stopped")[0]["signal"] == "SIGTERM"
    finally:
        server.close()



def test_ctrl_c_leaves_the_chat_quietly():
    main_end, terminal = pty.openpty()  # a terminal, so the chat prompts and uses input()
    url = f"http://127.0.0.1:{free_port()}/wechat"
    # As if started from a shell prompt: a runner that started us in the background (CI)
    # may have SIGINT ignored, and an ignored signal stays ignored across exec.
    proc = subprocess.Popen([sys.executable, "-m", "wxloan", "chat", "--url", url, "--token", TOKEN],
                            stdin=terminal, stdout=terminal, stderr=terminal, cwd=ROOT, env=ENV,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    os.close(terminal)
    seen = b""

    def read_more(timeout: float) -> bool:
        nonlocal seen
        if not select.select([main_end], [], [], timeout)[0]:
            return False
        try:
            chunk = os.read(main_end, 4096)
        except OSError:  # EIO: the child closed the terminal
            return False
        seen += chunk
        return bool(chunk)

    try:
        deadline = time.monotonic() + 30
        while b"you> " not in seen:
            assert read_more(max(0.0, deadline - time.monotonic())), seen
        proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
        assert proc.wait(timeout=20) == 130
        while read_more(1.0):
            pass
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(main_end)
    assert b"Traceback" not in seen and b"Error" not in seen, seen
