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
