"""``wxloan migrate-db --from PATH --to URL``: a SQLite database moved into PostgreSQL.

The SQLite side is filled by the real app (conversations through signed requests) and the
real store (tokens, quota, late deliveries); after the copy, every table holds the same
rows on PostgreSQL, and a PostgreSQL store carries on where SQLite stopped.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from wxloan.bot.cli import main
from wxloan.storage import ClaimStatus, PostgresTarget, open_database, open_store
from wxloan.storage.postgres.transfer import TABLES

pytestmark = pytest.mark.usefixtures("clean_env", "restore_logging")


async def _fill(make_wechat: Any, settings: Any, db_path: Path) -> None:
    wechat = await make_wechat(settings)
    for openid, texts in {"o-a": ["能开通微粒贷吗", "支付分七百二", "没有逾期"],
                          "o-b": ["我被拒了", "我的手机13912345678"]}.items():
        for text in texts:
            assert (await wechat.text(openid, text)).status == 200
    store = await open_store(db_path)
    try:
        await store.save_token("wxapp", "tok", 2e9, 1e9)
        await store.grant_quota("wxapp", "o-a", "reply", 1e9, 5, 3600)
        await store.count_late_delivery("m-late", "o-a", 1e9)
        await store.record_delivery(app_id="wxapp", openid="o-a", msg_key="m-x",
                                    msg_type="text", content="好的", status="sent", errcode=0,
                                    now=1e9)
    finally:
        await store.close()


def _sqlite_rows(db_path: Path, table: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db_path) as conn:
        columns = [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
        order = "id" if "id" in columns else columns[0]
        return conn.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {order}").fetchall()


async def _pg_rows(url: str, table: str, columns: list[str]) -> list[tuple[Any, ...]]:
    conn = await asyncpg.connect(url)
    try:
        order = "id" if "id" in columns else columns[0]
        rows = await conn.fetch(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {order}")
    finally:
        await conn.close()
    return [tuple(r) for r in rows]


async def test_every_table_is_copied_and_postgresql_carries_on(make_wechat, settings, db_path,
                                                                pg_url, capsys):
    await _fill(make_wechat, settings, db_path)
    assert await asyncio.to_thread(main, ["migrate-db", "--from", str(db_path), "--to", pg_url]) == 0
    out = capsys.readouterr().out
    assert "messages" in out and "copied" in out and pg_url.split(":")[2].split("@")[0] not in out
    for table in TABLES:
        expected = _sqlite_rows(db_path, table)
        with sqlite3.connect(db_path) as conn:
            columns = [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
        assert await _pg_rows(pg_url, table, columns) == expected, table
        assert expected or table in ("assessments",), f"{table}: the fixture left it empty"

    store = await open_database(PostgresTarget(pg_url))
    try:
        processed = _sqlite_rows(db_path, "processed")[0]
        claim = await store.read_turn(processed[0], processed[1])
        assert claim.status is ClaimStatus.DONE and claim.reply == processed[3]
        session = await store.load_session("o-a")
        assert session is not None and session.slots.get("pay_score") == 720
        assert await store.get_token("wxapp") == ("tok", 2e9)
        assert await store.consume_quota("wxapp", "o-a", 1e9 + 1) == "reply"
        assert await store.count_late_delivery("m-late", "o-a", 1e9) == 2
        await store.record_delivery(app_id="wxapp", openid="o-a", msg_key="m-y",
                                    msg_type="text", content="新", status="sent", errcode=0,
                                    now=1e9)  # a new row: its id follows the copied ones
    finally:
        await store.close()
    ids = [row[0] for row in await _pg_rows(pg_url, "messages", ["id"])]
    assert ids == sorted(set(ids)) and len(ids) == len(_sqlite_rows(db_path, "messages")) + 1


async def test_a_target_that_holds_data_is_refused(make_wechat, settings, db_path, pg_url,
                                                   capsys):
    await _fill(make_wechat, settings, db_path)
    argv = ["migrate-db", "--from", str(db_path), "--to", pg_url]
    assert await asyncio.to_thread(main, argv) == 0
    capsys.readouterr()
    assert await asyncio.to_thread(main, argv) == 2
    err = capsys.readouterr().err
    assert "--to:" in err and "already holds wxloan data" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize(("argv", "part"), [
    (["--from", "{tmp}/none.db", "--to", "{pg}"], "--from: no database at"),
    (["--from", "{tmp}/plain.db", "--to", "{pg}"], "not an up-to-date wxloan database"),
    (["--from", "{pg}", "--to", "{pg}"], "--from: a SQLite file"),
    (["--from", "{tmp}/plain.db", "--to", "{tmp}/other.db"], "--to: a postgresql:// URL"),
    (["--from", "{db}", "--to", "postgresql://u:pw@127.0.0.1:1/x"], "--to: cannot use"),
], ids=["no file", "not wxloan", "from a url", "to a file", "to nowhere"])
async def test_bad_arguments_are_one_line(argv, part, tmp_path, pg_url, db_path, capsys):
    sqlite3.connect(tmp_path / "plain.db").execute("CREATE TABLE t (x)").connection.close()
    store = await open_store(db_path)  # a real, migrated, empty wxloan database
    await store.close()
    fill = {"tmp": str(tmp_path), "pg": pg_url, "db": str(db_path)}
    code = await asyncio.to_thread(main, ["migrate-db", *[a.format(**fill) for a in argv]])
    err = capsys.readouterr().err
    assert code == 2 and len(err.splitlines()) == 1 and part in err, err
    assert ":pw@" not in err
