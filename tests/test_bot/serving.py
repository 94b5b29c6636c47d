"""``wxloan serve`` as a real process, synchronised on its JSON log lines (no sleeps).

A thread reads the child's stderr line by line into a queue; :meth:`Serve.wait_for`
takes lines until one matches or the deadline passes. Reading the process's own output is
the synchronisation: "wxloan serving" means the port is bound and the database is open.
"""

from __future__ import annotations

import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wxloan.bot.config import ENV_VARS

ROOT = Path(__file__).resolve().parents[2]
#: generous: the 2-core test machine is shared; a healthy wait ends in about a second
DEADLINE_S = 20.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def child_env(**extra: str) -> dict[str, str]:
    """Our environment minus every wxloan variable, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    env.update(PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1", **extra)
    return env


def wxloan(*argv: str, env: dict[str, str]) -> subprocess.Popen[str]:
    """``python -m bot ARGV`` with stdin, stdout and stderr as pipes."""
    return subprocess.Popen([sys.executable, "-m", "wxloan", *argv], cwd=ROOT, env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


class Serve:
    """A running ``wxloan serve``; every stderr line is kept in :attr:`lines`."""

    def __init__(self, *argv: str, env: dict[str, str]) -> None:
        self.proc = wxloan("serve", *argv, env=env)
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._eof = False

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def _next(self, deadline: float) -> str | None:
        if self._eof:
            return None
        try:
            line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError("timed out; stderr so far:\n" + self.text()) from None
        if line is None:
            self._eof = True
            return None
        self.lines.append(line)
        return line

    def wait_for(self, msg: str, where: Callable[[dict[str, Any]], bool] = lambda _: True,
                 timeout: float = DEADLINE_S) -> dict[str, Any]:
        """The next JSON log line with this ``msg`` for which ``where`` holds."""
        deadline = time.monotonic() + timeout
        while True:
            line = self._next(deadline)
            if line is None:
                raise AssertionError(f"exited ({self.proc.poll()}) before {msg!r}:\n"
                                     + self.text())
            entry = _json(line)
            if entry is not None and entry.get("msg") == msg and where(entry):
                return entry

    def wait_exit(self, timeout: float = DEADLINE_S) -> int:
        """Read stderr to the end, then the exit status."""
        deadline = time.monotonic() + timeout
        while self._next(deadline) is not None:
            pass
        return self.proc.wait(timeout=max(0.1, deadline - time.monotonic()))

    def logged(self, msg: str) -> list[dict[str, Any]]:
        """Every JSON line read so far with this ``msg``."""
        return [e for e in map(_json, self.lines) if e is not None and e.get("msg") == msg]

    def text(self) -> str:
        return "\n".join(self.lines)[-4000:]

    def children(self) -> set[int]:
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return {int(pid) for pid in path.read_text().split()}

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        self._reader.join(timeout=10)  # EOF once the workers (which share stderr) are gone
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


def _json(line: str) -> dict[str, Any] | None:
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    return entry if isinstance(entry, dict) else None
