"""The ``wxloan`` command line: stats, transcript, purge, and serve as a real process."""

from __future__ import annotations

import asyncio
import io
import json
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from wxloan.bot.cli import main
from tests.conftest import rows
from tests.wechat import sign

from .support import dump_all_tables

REPO = Path(__file__).resolve().parents[2]
ID_NUMBER = "11010119900307123X"

pytestmark = pytest.mark.usefixtures("clean_env", "restore_logging")


@pytest.fixture
async def populated(make_wechat, settings, clock, monkeypatch, db_path):
    """A database filled by a real app: two users, one of them over two turns."""
    clock.advance(-60)  # everything happened a minute ago (purge --older-than 0 sees it)
    wechat = await make_wechat(settings)
    await wechat.event("user-a", "subscribe")
    clock.advance(1)
    await wechat.text("user-a", f"我的身份证{ID_NUMBER}")
    clock.advance(1)
    await wechat.text("user-a", "第二个问题")
    await wechat.text("user-b", "你好")
    monkeypatch.setenv("WXLOAN_DB", str(db_path))
    return wechat


async def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = await asyncio.to_thread(main, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


async def test_stats_prints_the_counts(populated, capsys, db_path):
    code, out, _ = await _run(capsys, "stats")
    assert code == 0
    # 4 pushes in, 4 replies out (welcome, two answers to user-a, one to user-b)
    assert rows(db_path, "SELECT COUNT(*) FROM messages") == [(8,)]
    assert "users        2" in out
    assert "messages     8" in out
    assert "sessions     2" in out
    assert "assessments  0" in out


async def test_stats_json(populated, capsys, db_path):
    code, out, _ = await _run(capsys, "stats", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["users"] == 2
    assert data["messages"] == rows(db_path, "SELECT COUNT(*) FROM messages")[0][0] == 8
    assert data["sessions"] == 2
    assert sum(day["messages_in"] for day in data["days"]) == 4
    assert sum(day["messages_out"] for day in data["days"]) == 4
    assert sum(day["new_users"] for day in data["days"]) == 2


async def test_stats_db_flag_overrides_the_environment(
    populated, capsys, db_path, tmp_path, monkeypatch
):
    monkeypatch.setenv("WXLOAN_DB", str(tmp_path / "empty.db"))
    code, out, _ = await _run(capsys, "stats", "--json", "--db", str(db_path))
    assert code == 0
    assert json.loads(out)["users"] == 2


async def test_transcript_prints_the_masked_conversation_in_order(populated, capsys):
    code, out, _ = await _run(capsys, "transcript", "user-a")
    assert code == 0
    assert ID_NUMBER not in out
    assert "110101********123X" in out
    lines = [line for line in out.splitlines() if line[:4].isdigit()]
    arrows = [("→" if "→" in line else "←") for line in lines]
    assert arrows == ["→", "←", "→", "←", "→", "←"]
    first_in = out.index("subscribe")
    second_in = out.index("110101********123X")
    third_in = out.index("第二个问题")
    assert first_in < second_in < third_in


async def test_transcript_of_unknown_user_fails(populated, capsys):
    code, _, err = await _run(capsys, "transcript", "nobody")
    assert code == 1
    assert "nobody" in err


async def test_purge_older_than_zero_deletes_everything_with_yes(populated, capsys, db_path):
    code, out, _ = await _run(capsys, "purge", "--older-than", "0", "--yes")
    assert code == 0
    assert "messages: 8" in out
    assert "batches in" in out
    for table in ("messages", "processed", "sessions", "users", "assessments"):
        assert rows(db_path, f"SELECT COUNT(*) FROM {table}") == [(0,)], table


async def test_purge_older_than_zero_without_yes_exits_2_and_deletes_nothing(
    populated, capsys, db_path
):
    before = dump_all_tables(db_path)
    code, out, err = await _run(capsys, "purge", "--older-than", "0")
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert "--yes" in err
    assert dump_all_tables(db_path) == before


@pytest.mark.parametrize("days", ["0", "1"])
async def test_purge_dry_run_prints_the_rows_per_table_and_changes_nothing(
    populated, capsys, db_path, days
):
    before = dump_all_tables(db_path)
    code, out, _ = await _run(capsys, "purge", "--older-than", days, "--dry-run")
    assert code == 0
    assert "dry run" in out
    assert ("messages: 8" if days == "0" else "messages: 0") in out
    assert "users: " in out and "sessions: " in out
    assert dump_all_tables(db_path) == before


async def test_purge_vacuum_shrinks_the_file_and_says_how_much(tmp_path, capsys):
    from tests.perf.prefill import prefill_synthetic

    path = tmp_path / "big.db"
    prefill_synthetic(path, users=200, messages=20_000)
    size = path.stat().st_size
    code, out, err = await _run(capsys, "purge", "--older-than", "0.5", "--vacuum",
                                "--db", str(path))
    assert code == 0
    assert "messages: 20000" in out
    line = next(line for line in out.splitlines() if line.startswith("vacuum"))
    sizes = re.search(r"\): ([\d,]+) → ([\d,]+) bytes", line)
    assert sizes is not None, line
    before, after = (int(n.replace(",", "")) for n in sizes.groups())
    assert before >= size > after * 5
    assert path.stat().st_size == after  # the WAL is emptied too
    assert "full VACUUM" in err  # the first one needs exclusive access, and says so
    code, out, err = await _run(capsys, "purge", "--older-than", "0.5", "--vacuum",
                                "--db", str(path))
    assert code == 0
    assert "vacuum (incremental" in out
    assert err == ""


async def test_purge_shows_progress_only_on_a_terminal(populated, capsys, monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    code, _, err = await _run(capsys, "purge", "--older-than", "1")  # batches, none old
    assert code == 0
    assert "\r" not in err  # not a terminal: no progress line
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    await asyncio.to_thread(main, ["purge", "--older-than", "0", "--yes"])
    assert "\rpurge: messages" in terminal.getvalue()


async def test_purge_older_than_a_day_keeps_recent_data(populated, capsys, db_path):
    before = dump_all_tables(db_path)
    code, _, _ = await _run(capsys, "purge", "--older-than", "1")
    assert code == 0
    assert dump_all_tables(db_path) == before


@pytest.mark.parametrize("days", ["-1", "nan", "inf"])
async def test_purge_refuses_negative_or_infinite_days(populated, capsys, days, db_path):
    before = dump_all_tables(db_path)
    code, _, err = await _run(capsys, "purge", "--older-than", days)
    assert code == 2
    assert "older-than" in err
    assert dump_all_tables(db_path) == before


@pytest.mark.parametrize("days", ["-5", "0"])
async def test_stats_refuses_fewer_than_one_day(populated, capsys, days):
    code, out, err = await _run(capsys, "stats", "--days", days)
    assert code == 2
    assert out == ""
    assert "--days" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("argv", [
    ["stats"], ["stats", "--json"], ["transcript", "user-a"],
    ["purge", "--older-than", "30"], ["purge", "--older-than", "30", "--dry-run"],
    ["purge", "--older-than", "0", "--yes", "--vacuum"],
])
@pytest.mark.parametrize("via", ["flag", "env"])
async def test_read_and_retention_commands_never_create_a_database(
    tmp_path, capsys, monkeypatch, argv, via
):
    missing = tmp_path / "typo.db"
    if via == "flag":
        argv = [*argv, "--db", str(missing)]
    else:
        monkeypatch.setenv("WXLOAN_DB", str(missing))
    code, out, err = await _run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.strip() == f"wxloan: configuration error: WXLOAN_DB / --db: no database at {missing}"
    assert list(tmp_path.iterdir()) == []


async def test_stats_on_a_file_that_is_not_a_database_exits_2(tmp_path, capsys):
    junk = tmp_path / "notes.txt"
    junk.write_text("not sqlite at all " * 100)
    code, _, err = await _run(capsys, "stats", "--db", str(junk))
    assert code == 2
    assert "not a wxloan database" in err
    assert junk.read_text().startswith("not sqlite")


async def test_stats_reads_a_live_database_without_migrating_or_writing(
    populated, capsys, db_path
):
    before = dump_all_tables(db_path)
    code, _, _ = await _run(capsys, "stats")
    assert code == 0
    assert dump_all_tables(db_path) == before


def test_cli_config_error_exits_2_naming_the_variable(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("WECHAT_ENCODING_AES_KEY", "too-short")
    monkeypatch.setenv("WXLOAN_DB", str(tmp_path / "x.db"))
    assert main(["stats"]) == 2
    assert "WECHAT_ENCODING_AES_KEY" in capsys.readouterr().err


# -- serve, as a real process --------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=1) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_serve_without_token_prints_one_and_answers(tmp_path, subprocess_env):
    port = _free_port()
    env = {**subprocess_env, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wxloan",
            "serve",
            "--port",
            str(port),
            "--db",
            str(tmp_path / "serve.db"),
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        health = None
        # A generous bound: it only stops a broken start from hanging the suite (a loaded
        # CI machine took over 5 s to start an interpreter and import everything).
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                health = _get(f"http://127.0.0.1:{port}/healthz")
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.05)
        assert health is not None, "server did not answer /healthz"
        status, body = health
        assert status == 200
        assert json.loads(body)["status"] == "ok"

        first_line = proc.stdout.readline()
        assert "WECHAT_TOKEN is not set" in first_line
        token = first_line.rsplit(":", 1)[1].strip()
        assert len(token) >= 16
        # The printed token is the one the server checks signatures with.
        ts, nonce = str(int(time.time())), "12345"
        query = f"timestamp={ts}&nonce={nonce}&signature={sign(token, ts, nonce)}&echostr=hi"
        assert _get(f"http://127.0.0.1:{port}/wechat?{query}") == (200, "hi")
        wrong = f"timestamp={ts}&nonce={nonce}&signature={sign('x', ts, nonce)}&echostr=hi"
        assert _get(f"http://127.0.0.1:{port}/wechat?{wrong}")[0] == 403
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert (tmp_path / "serve.db").exists()


def test_serve_without_token_on_public_host_exits_2(tmp_path, subprocess_env):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "wxloan",
            "serve",
            "--host",
            "0.0.0.0",
            "--port",
            str(_free_port()),
            "--db",
            str(tmp_path / "serve.db"),
        ],
        cwd=REPO,
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert result.returncode == 2
    assert "WECHAT_TOKEN" in result.stderr
    assert "127.0.0.1" in result.stderr
    assert "generated a token" not in result.stdout


def test_serve_with_invalid_aes_key_exits_2_naming_it(tmp_path, subprocess_env):
    env = {
        **subprocess_env,
        "WECHAT_TOKEN": "tok",
        "WECHAT_APP_ID": "wx1",
        "WECHAT_ENCODING_AES_KEY": "not-a-valid-key",
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "wxloan",
            "serve",
            "--port",
            str(_free_port()),
            "--db",
            str(tmp_path / "serve.db"),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert result.returncode == 2
    assert "WECHAT_ENCODING_AES_KEY" in result.stderr
