"""The operator commands on PostgreSQL say what they say on SQLite.

The same turns are written through each engine's store; then ``stats``, ``transcript``,
``nlu review`` and ``purge`` run as the operator runs them (``wxloan … --db``) against each,
and their output must agree; plus the refusals, one line each.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from wxloan.bot.cli import main
from wxloan.storage import OutboundRecord, PostgresTarget, Session, TurnRecord, open_database

pytestmark = pytest.mark.usefixtures("clean_env", "restore_logging")

DAY = 86400.0


def _turn(n: int, openid: str, text: str, now: float, meta: dict[str, Any] | None,
          version: int | None) -> TurnRecord:
    return TurnRecord(
        msg_key=f"m{n}", openid=openid, now=now, inbound_type="text", inbound_content=text,
        reply='{"kind": "text", "text": "答"}', outbound=(OutboundRecord("text", f"答{n}"),),
        session=Session(openid, flow="eligibility"), profile={"pay_score": 600 + n},
        expected_version=version, inbound_meta=meta,
        assessment=({"pay_score": 600 + n}, {"flow": "eligibility"}) if n % 2 else None,
    )


async def _fill(target: Any, now: float) -> None:
    store = await open_database(target)
    try:
        versions: dict[str, int | None] = {}
        plan = [("o-old", "很久以前的问题", now - 40 * DAY, {"intent": None, "confidence": 0.1,
                                                          "source": "none", "fallback": True,
                                                          "clarify": False}),
                ("o-a", "能开通吗", now - 2 * DAY, {"intent": "eligibility", "confidence": 0.9,
                                                  "source": "model", "fallback": False,
                                                  "clarify": False}),
                ("o-a", "我的手机13912345678", now - DAY, None),
                ("o-b", "嗯嗯那个啥", now - 60, {"intent": None, "confidence": 0.2,
                                              "source": "model", "fallback": True,
                                              "clarify": False}),
                ("o-b", "额度利率", now - 30, {"intent": "rates", "confidence": 0.35,
                                            "source": "model", "fallback": False,
                                            "clarify": True})]
        for n, (openid, text, when, meta) in enumerate(plan):
            commit = await store.finish_turn(
                _turn(n, openid, text, when, meta, versions.get(openid)))
            versions[openid] = commit.version
    finally:
        await store.close()


def _run(argv: list[str], capsys: Any) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def both(tmp_path: Path, pg_url: str) -> dict[str, str]:
    """The same conversations in a SQLite file and a PostgreSQL database."""
    import asyncio
    import time

    now = time.time()
    sqlite = tmp_path / "ops.db"
    asyncio.run(_fill(sqlite, now))
    asyncio.run(_fill(PostgresTarget(pg_url), now))
    return {"sqlite": str(sqlite), "postgres": pg_url}


def test_stats_agree(both, capsys):
    results = {}
    for engine, db in both.items():
        code, out, _ = _run(["stats", "--json", "--db", db], capsys)
        assert code == 0
        results[engine] = json.loads(out)
    assert results["postgres"] == results["sqlite"]
    assert results["postgres"]["users"] == 3 and results["postgres"]["messages"] == 10
    code, out, _ = _run(["stats", "--db", both["postgres"]], capsys)
    assert code == 0 and "postgresql://" in out and "***" in out


def test_transcripts_agree_and_are_masked(both, capsys):
    outputs = {engine: _run(["transcript", "o-a", "--db", db], capsys) for engine, db in
               both.items()}
    assert outputs["postgres"] == outputs["sqlite"]
    code, out, _ = outputs["postgres"]
    assert code == 0 and "139****5678" in out and "13912345678" not in out


def test_nlu_review_agrees(both, capsys):
    outputs = {engine: _run(["nlu", "review", "--days", "7", "--db", db], capsys)
               for engine, db in both.items()}
    assert outputs["postgres"] == outputs["sqlite"]
    code, out, _ = outputs["postgres"]
    assert code == 0 and "2 messages" in out and "嗯嗯那个啥" in out and "很久以前" not in out


def test_purge_agrees_and_keeps_what_is_recent(both, capsys):
    dry = {engine: _run(["purge", "--older-than", "30", "--dry-run", "--db", db], capsys)
           for engine, db in both.items()}
    assert dry["postgres"][1] == dry["sqlite"][1] and "messages: 2" in dry["postgres"][1]
    for engine, db in both.items():
        code, out, _ = _run(["purge", "--older-than", "30", "--db", db, "--vacuum"], capsys)
        assert code == 0 and "deleted" in out and "messages: 2" in out, (engine, out)
    after = {engine: json.loads(_run(["stats", "--json", "--db", db], capsys)[1])
             for engine, db in both.items()}
    assert after["postgres"] == after["sqlite"]
    assert after["postgres"]["messages"] == 8 and after["postgres"]["users"] == 2


def test_a_database_without_wxloan_tables_is_one_line(pg_url, capsys):
    code, out, err = _run(["stats", "--db", pg_url], capsys)
    assert code == 2 and out == "" and len(err.splitlines()) == 1
    assert "holds no wxloan database" in err and "***" in err


@pytest.mark.parametrize("command", [["stats"], ["transcript", "o1"],
                                     ["purge", "--older-than", "30"], ["nlu", "review"]])
def test_an_unreachable_server_is_one_line(command, capsys, monkeypatch):
    from tests.test_bot.serving import free_port

    monkeypatch.setenv("WXLOAN_DB", f"postgresql://u:s3cret@127.0.0.1:{free_port()}/x")
    code, out, err = _run(command, capsys)
    assert code == 2 and len(err.splitlines()) == 1, err
    assert "cannot use postgresql://u:***@" in err and "s3cret" not in err



async def test_menu_push_uses_the_nodes_token_cache(aiohttp_server, pg_url, monkeypatch,
                                                    capsys):
    """``menu push`` on the nodes' database reuses their access token (no refresh that
    would disturb them) and so needs no token request of its own."""
    import asyncio

    from wxloan.bot.standin import StandIn, create_standin_app

    standin = StandIn(apps={"wxmenu": "menu-secret"})
    server = await aiohttp_server(create_standin_app(standin))
    for name, value in {"WECHAT_TOKEN": "t", "WECHAT_APP_ID": "wxmenu",
                        "WECHAT_APP_SECRET": "menu-secret",
                        "WECHAT_API_BASE": str(server.make_url("")).rstrip("/"),
                        "WXLOAN_DB": pg_url}.items():
        monkeypatch.setenv(name, value)
    assert await asyncio.to_thread(main, ["menu", "push"]) == 0, capsys.readouterr().err
    assert await asyncio.to_thread(main, ["menu", "push"]) == 0, capsys.readouterr().err
    assert len(standin.menus) == 2 and standin.token_requests == 1  # cached in PostgreSQL


def test_libpq_variables_fill_in_what_the_url_leaves_out(both, postgres_server, capsys,
                                                         monkeypatch):
    from urllib.parse import urlsplit

    parts = urlsplit(both["postgres"])
    for name, value in {"PGHOST": parts.hostname, "PGPORT": str(parts.port),
                        "PGUSER": parts.username, "PGPASSWORD": parts.password}.items():
        monkeypatch.setenv(name, str(value))
    code, out, err = _run(["stats", "--json", "--db", f"postgresql://{parts.path}"], capsys)
    assert code == 0, err
    assert json.loads(out)["users"] == 3
