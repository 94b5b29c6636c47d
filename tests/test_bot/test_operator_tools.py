"""``wxloan users``, ``backup`` and ``forget`` on SQLite, on conversations the store wrote."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from wxloan.bot.cli import main
from wxloan.bot.logs import user_ref
from wxloan.storage import operator

from .test_postgres_operator import _fill

pytestmark = pytest.mark.usefixtures("clean_env", "restore_logging")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "ops.db"
    asyncio.run(_fill(path, time.time()))
    return path


def _rows(path: Path, openid: str) -> int:
    conn = sqlite3.connect(path)
    try:
        return sum(conn.execute(f"SELECT COUNT(*) FROM [{t}] WHERE openid = ?",
                                (openid,)).fetchone()[0]
                   for t in ("messages", "processed", "assessments", "sessions", "users",
                             "deliveries", "quota_grants", "delivery_attempts"))
    finally:
        conn.close()


def test_users_lists_log_references_newest_first(db: Path, capsys: Any) -> None:
    assert main(["users", "--json", "--db", str(db)]) == 0
    items = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [i["ref"] for i in items] == [user_ref("o-b"), user_ref("o-a"), user_ref("o-old")]
    assert "o-b" not in json.dumps(items)


@pytest.mark.parametrize("by_ref", [False, True])
def test_forget_deletes_one_user_only(db: Path, capsys: Any, by_ref: bool) -> None:
    before = _rows(db, "o-b")
    assert before > 0
    name = user_ref("o-a") if by_ref else "o-a"
    assert main(["forget", name, "--db", str(db)]) == 0
    assert "messages: 4, processed: 2" in capsys.readouterr().out
    assert _rows(db, "o-a") == 0
    assert _rows(db, "o-b") == before


def test_forget_an_unknown_user_is_exit_2(db: Path) -> None:
    assert main(["forget", "nobody", "--db", str(db)]) == 2


def test_backup_is_an_openable_copy_and_refuses_to_overwrite(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "copy.db"
    assert main(["backup", str(out), "--db", str(db)]) == 0
    conn = sqlite3.connect(out)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 10
    conn.close()
    assert main(["backup", str(out), "--db", str(db)]) == 2
    assert main(["backup", str(out), "--force", "--db", str(db)]) == 0


def test_backup_refuses_to_overwrite_the_database_itself(db: Path, capsys: Any) -> None:
    assert main(["backup", str(db), "--force", "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "the database itself" in err
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 10  # untouched
    conn.close()


def test_backup_finishes_and_is_consistent_while_a_writer_commits(db: Path,
                                                                   tmp_path: Path) -> None:
    """A writer commits turns (two messages and a processed key each, in one transaction)
    as fast as it can while ``wxloan backup`` copies a database of a few thousand pages:
    the backup must finish, and the copy must hold whole turns only."""
    import threading

    conn = sqlite3.connect(db, isolation_level=None)
    filler = "填" * 2000  # ~6 KB per row: the file grows past a thousand pages
    conn.executemany("INSERT INTO messages (openid, direction, msg_type, content, created_at)"
                     " VALUES ('bulk', 'in', 'text', ?, 0)", [(filler,)] * 1000)
    conn.close()
    started, stop = threading.Event(), threading.Event()
    written: list[int] = []

    def write() -> None:
        writer = sqlite3.connect(db, isolation_level=None)
        writer.execute("PRAGMA busy_timeout=5000")
        n = 0
        while not stop.is_set():
            writer.execute("BEGIN IMMEDIATE")
            for direction in ("in", "out"):
                writer.execute("INSERT INTO messages (openid, direction, msg_type, content,"
                               " created_at) VALUES ('w', ?, 'text', ?, 1)", (direction, n))
            writer.execute("INSERT INTO processed (msg_key, openid, status, reply, created_at,"
                           " updated_at) VALUES (?, 'w', 'done', '', 1, 1)", (f"w{n}",))
            writer.execute("COMMIT")
            n += 1
            if n == 50:
                started.set()
        written.append(n)
        writer.close()

    thread = threading.Thread(target=write)
    thread.start()
    try:
        assert started.wait(30)
        out = tmp_path / "live.db"
        assert main(["backup", str(out), "--db", str(db)]) == 0
        # One step: a copy in steps restarts at every commit between two steps (measured:
        # 23,394 restarts and 18 s for an 18 MB file beside a busy writer, against 0.2 s).
        steps: list[int] = []
        operator.backup(db, tmp_path / "direct.db", on_step=lambda *s: steps.append(s[1]))
        assert steps == [0]
    finally:
        stop.set()
        thread.join()
    copy = sqlite3.connect(out)
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        turns = copy.execute("SELECT COUNT(*) FROM processed WHERE openid = 'w'").fetchone()[0]
        messages = copy.execute("SELECT COUNT(*) FROM messages WHERE openid = 'w'").fetchone()[0]
    finally:
        copy.close()
    assert turns >= 50 and messages == 2 * turns <= 2 * written[0]
    assert not (tmp_path / "live.db.partial").exists()
