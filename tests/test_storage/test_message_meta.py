"""Migration 0005: the message log's ``meta`` (what the dialogue made of a message) and its
read for ``wxloan nlu review``."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from pathlib import Path

import pytest
from sqlite_utils import Database

from wxloan.storage import (
    NoMetaError,
    OutboundRecord,
    ReadOnlyStore,
    Session,
    TurnRecord,
    open_store,
)
from wxloan.storage.migrations import migrations

NOW = 1_710_000_000.0
ID_NUMBER = "11010119900307123X"
MOBILE = "13987654321"


def _rows(path: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


def _turn(key: str, text: str, meta: dict | None, now: float = NOW) -> TurnRecord:
    return TurnRecord(
        msg_key=key, openid="user-1", now=now, inbound_type="text", inbound_content=text,
        reply='{"kind": "text", "text": "答"}', outbound=(OutboundRecord("text", "答"),),
        session=Session("user-1"), inbound_meta=meta,
    )


async def _store_turns(path: Path, *turns: TurnRecord) -> None:
    store = await open_store(path)
    try:
        version = None
        for turn in turns:
            commit = await store.finish_turn(
                dataclasses.replace(turn, expected_version=version)
            )
            version = commit.version
    finally:
        await store.close()


def test_migration_0005_adds_a_nullable_meta_to_an_existing_log(tmp_path):
    path = tmp_path / "old.db"
    db = Database(path)
    migrations.apply(db, stop_before="0005_message_meta")
    db.execute("INSERT INTO messages (openid, direction, msg_type, content, created_at)"
               " VALUES ('u', 'in', 'text', '你好', 1.0)")
    db.conn.commit()
    columns = {row[1] for row in db.execute("PRAGMA table_info(messages)").fetchall()}
    assert "meta" not in columns

    migrations.apply(db)
    columns = {row[1]: row[2] for row in db.execute("PRAGMA table_info(messages)").fetchall()}
    assert columns["meta"] == "TEXT"
    assert db.execute("SELECT content, meta FROM messages").fetchall() == [("你好", None)]
    migrations.apply(db)  # idempotent: applied once
    names = [r[0] for r in db.execute("SELECT name FROM _sqlite_migrations").fetchall()]
    assert names.count("0005_message_meta") == 1
    db.close()


async def test_finish_turn_stores_meta_on_the_inbound_row_only(tmp_path):
    path = tmp_path / "w.db"
    meta = {"intent": "rates", "confidence": 0.42, "source": "model",
            "fallback": False, "clarify": True}
    await _store_turns(path, _turn("k1", "利息多少", meta), _turn("k2", "你好", None))
    stored = _rows(path, "SELECT direction, content, meta FROM messages ORDER BY id")
    assert [(d, c) for d, c, _ in stored] == [("in", "利息多少"), ("out", "答"),
                                              ("in", "你好"), ("out", "答")]
    assert json.loads(stored[0][2]) == meta
    assert [m for _, _, m in stored[1:]] == [None, None, None]


async def test_unsure_messages_reads_fallbacks_and_low_confidence_since_a_time(tmp_path):
    path = tmp_path / "w.db"
    sure = {"intent": "rates", "confidence": 1.0, "source": "rules",
            "fallback": False, "clarify": False}
    await _store_turns(
        path,
        _turn("old", "很久以前没看懂的", {**sure, "intent": None, "fallback": True},
              now=NOW - 10 * 86400),
        _turn("sure", "微粒贷利率多少", sure),
        _turn("fell", f"我的身份证{ID_NUMBER}电话{MOBILE}能借吗",
              {**sure, "intent": None, "fallback": True}),
        _turn("asked", "多借点", {**sure, "confidence": 0.4, "source": "model", "clarify": True}),
        _turn("low", "那个呢", {**sure, "confidence": 0.3, "source": "model"}),
        _turn("edge", "刚好门槛", {**sure, "confidence": 0.5, "source": "model"}),
    )
    with ReadOnlyStore(path) as store:
        found = store.unsure_messages(since=NOW - 7 * 86400, confidence=0.5)
        everything = store.unsure_messages(since=0.0, confidence=0.5)
    assert [m.meta.get("confidence") for m in found] == [1.0, 0.4, 0.3]
    assert found[0].content.startswith("我的身份证110101")
    assert ID_NUMBER not in found[0].content and MOBILE not in found[0].content
    assert "139****4321" in found[0].content
    assert [m.content for m in everything][0] == "很久以前没看懂的"
    assert len(everything) == 4
    assert all(m.openid == "user-1" and m.created_at >= NOW - 10 * 86400 for m in everything)


def test_unsure_messages_on_a_database_before_0005_raises_no_meta(tmp_path):
    path = tmp_path / "old.db"
    db = Database(path)
    migrations.apply(db, stop_before="0005_message_meta")
    db.close()
    with ReadOnlyStore(path) as store, pytest.raises(NoMetaError):
        store.unsure_messages(since=0.0, confidence=0.5)
