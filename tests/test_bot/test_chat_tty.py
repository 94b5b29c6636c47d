"""``wxloan chat`` on a pseudo-terminal (prompt_toolkit: history, Ctrl-D, Ctrl-C) and piped."""

from __future__ import annotations

import os
import pytest
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ANSWER = "提额建议"
_DEADLINE = 60.0


class Terminal:
    """``python -m wxloan chat`` on the slave side of a pseudo-terminal."""

    def __init__(self, history: Path, *argv: str) -> None:
        env = dict(os.environ, WXLOAN_CHAT_HISTORY=str(history), TERM="xterm",
                   PROMPT_TOOLKIT_NO_CPR="1", COLUMNS="120", LINES="40")
        master, slave = os.openpty()
        self.fd = master
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "wxloan", "chat", *argv], cwd=ROOT, env=env,
            stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
        os.close(slave)
        self.buffer = b""

    def text(self) -> str:
        return self.buffer.decode("utf-8", "replace")

    def expect(self, marker: str, count: int = 1) -> str:
        """Read until ``marker`` has appeared ``count`` times in all the output so far."""
        deadline = time.monotonic() + _DEADLINE
        while self.text().count(marker) < count:
            left = deadline - time.monotonic()
            assert left > 0, f"no {marker!r} (x{count}) in:\n{self.text()}"
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:
                    chunk = b""
                assert chunk, f"output ended before {marker!r}:\n{self.text()}"
                self.buffer += chunk
        return self.text()

    def prompt_after(self, marker: str) -> str:
        """Read until a ``you>`` prompt is drawn after the last ``marker``.

        Keys must wait for it: between two prompts the terminal is back in cooked mode,
        where the line discipline itself takes a Ctrl-D as end-of-file and the next prompt
        never sees it (a test that counted prompts raced this and "hung" at Ctrl-D).
        """
        while "you>" not in self.text().rsplit(marker, 1)[-1]:
            self.expect("you>", self.text().count("you>") + 1)
        return self.text()

    def send(self, keys: str) -> None:
        os.write(self.fd, keys.encode())

    def finish(self) -> int:
        """Drain the output until the process exits; its exit code."""
        deadline = time.monotonic() + _DEADLINE
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.fd], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    break
                self.buffer += chunk
            elif self.proc.poll() is not None:
                break
        code = self.proc.wait(timeout=_DEADLINE)
        os.close(self.fd)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def test_history_recall_ctrl_d_and_second_run(tmp_path):
    history = tmp_path / "history"
    term = Terminal(history)
    try:
        term.expect("you>")
        term.send("怎么提额\r")
        term.expect(ANSWER)
        term.prompt_after(ANSWER)
        term.send("\x1b[A\r")  # Up recalls the line, Enter sends it again
        out = term.expect(ANSWER, 2)
        assert "HTTP 400" not in out and "[error]" not in out
        term.prompt_after(ANSWER)
        term.send("\x04")
        code = term.finish()
    finally:
        term.kill()
    assert code == 0
    assert "(bye)" in term.text() and "Traceback" not in term.text()
    assert "(logs: " in term.text()
    assert "怎么提额" in history.read_text(encoding="utf-8")

    second = Terminal(history)
    try:
        second.expect("you>")
        second.send("\x1b[A\r")
        second.expect(ANSWER)
        second.prompt_after(ANSWER)
        second.send("\x04")
        assert second.finish() == 0
    finally:
        second.kill()


def test_line_editing_and_colour(tmp_path):
    term = Terminal(tmp_path / "history")
    try:
        out = term.expect("you>")
        assert "\x1b[0;32;1myou>" in out  # the prompt is green and bold
        term.send("怎么额\x1b[D提\r")  # Left moves the cursor back before 额; 提 goes in there
        out = term.expect(ANSWER)
        assert "\x1b[36mbot" in out  # the bot's answer is cyan
        term.prompt_after(ANSWER)
        term.send("/quit\r")
        assert term.finish() == 0
    finally:
        term.kill()
    assert "怎么提额" in (tmp_path / "history").read_text(encoding="utf-8")


def test_ctrl_c_leaves_without_traceback(tmp_path):
    term = Terminal(tmp_path / "history")
    try:
        term.expect("you>")
        term.send("\x03")
        code = term.finish()
    finally:
        term.kill()
    assert code == 130
    assert "(bye)" in term.text() and "Traceback" not in term.text()


def test_human_end_and_inspect_on_a_terminal(tmp_path):
    term = Terminal(tmp_path / "history")
    try:
        term.expect("you>")
        term.send("转人工\r")
        term.expect("transfer_customer_service")
        term.prompt_after("transfer_customer_service")
        term.send("/human-end\r")
        term.expect("hand-off closed")
        term.prompt_after("hand-off closed")
        term.send("怎么提额\r")
        term.expect(ANSWER)
        term.prompt_after(ANSWER)
        term.send("/inspect\r")
        out = term.expect("reply (HTTP 200")
        assert "request (decrypted):" in out and "request (on the wire):" in out
        term.prompt_after("reply (HTTP 200")
        term.send("/quit\r")
        assert term.finish() == 0
    finally:
        term.kill()


def test_piped_output_is_only_the_conversation(tmp_path):
    log = tmp_path / "chat.log"
    proc = subprocess.run(
        [sys.executable, "-m", "wxloan", "chat", "--log-file", str(log)], cwd=ROOT,
        input="怎么提额\n", capture_output=True, text=True, timeout=120,
        env=dict(os.environ, WXLOAN_CHAT_HISTORY=str(tmp_path / "history")))
    assert proc.returncode == 0, proc.stderr
    assert ANSWER in proc.stdout
    assert "\x1b[" not in proc.stdout and '{"ts"' not in proc.stdout
    assert "(logs: " not in proc.stdout + proc.stderr
    assert '{"ts"' in log.read_text(encoding="utf-8")
    assert not (tmp_path / "history").exists()
