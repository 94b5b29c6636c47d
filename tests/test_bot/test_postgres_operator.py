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
        # what the pipeline adds to each turn's meta (flow, verdict, safety, timing)
        turn_meta = [{}, {"flow": "eligibility", "step": "pay_score", "verdict": False,
                          "scam": [], "handoff": False, "error": False, "ms": 12.0,
                          "late": False},
                     None,
                     {"flow": None, "step": None, "verdict": False, "scam": ["fee_upfront"],
                      "handoff": False, "error": False, "ms": 6000.0, "late": True},
                     {"flow": "eligibility", "step": None, "verdict": True,
                      "scam": ["fee_upfront", "fake_app"], "handoff": True, "error": True,
                      "ms": 80.0, "late": False}]
        for n, (openid, text, when, meta) in enumerate(plan):
            if meta is not None:
                meta = {**meta, **(turn_meta[n] or {})}
            commit = await store.finish_turn(
                _turn(n, openid, text, when, meta, versions.get(openid)))
            versions[openid] = commit.version
        for key, openid in (("m3", "o-b"), ("m3", "o-b"), ("m4", "o-b")):
            await store.count_duplicate(key, openid, now - 20)
        await store.count_duplicate("m0", "o-old", now - 40 * DAY)
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
    assert results["postgres"]["activity"] == {
        "turns": 4, "replies": 4, "duplicates": 3, "late": 1, "errors": 1, "fallbacks": 1,
        "scam_warnings": {"fee_upfront": 2, "fake_app": 1}, "handoffs": 1,
        "funnel": [{"flow": "eligibility", "started": 2, "reached_verdict": 1}],
    }
    code, out, _ = _run(["stats", "--db", both["postgres"]], capsys)
    assert code == 0 and "postgresql://" in out and "***" in out
    lines = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.strip()}
    assert lines["duplicates"] == ["3"] and lines["late"] == ["1", "(25%)"]
    assert lines["scam"] == ["warnings", "3:", "fee_upfront", "2,", "fake_app", "1"]
    assert lines["eligibility"] == ["2", "1", "(50%)"]


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


def test_transcript_by_log_reference_and_as_json_agree(both, capsys):
    from wxloan.bot.logs import user_ref

    results = {}
    for engine, db in both.items():
        code, by_openid, _ = _run(["transcript", "o-a", "--json", "--db", db], capsys)
        assert code == 0
        code, by_ref, _ = _run(["transcript", user_ref("o-a"), "--json", "--db", db], capsys)
        assert code == 0 and by_ref == by_openid
        results[engine] = [json.loads(line) for line in by_ref.splitlines()]
    assert results["sqlite"] == results["postgres"]
    rows = results["sqlite"]
    assert [(r["direction"], r["type"]) for r in rows] == [("in", "text"), ("out", "text")] * 2
    assert "139****5678" in rows[2]["content"] and "13912345678" not in str(rows)
    code, _, err = _run(["transcript", "0123456789ab", "--db", both["sqlite"]], capsys)
    assert code == 1 and "no messages for 0123456789ab" in err


def test_export_agrees_is_masked_and_names_users_by_reference_only(both, capsys, tmp_path):
    from wxloan.bot.logs import user_ref

    results = {}
    for engine, db in both.items():
        code, out, _ = _run(["export", "--since", "7", "--db", db], capsys)
        assert code == 0
        results[engine] = [json.loads(line) for line in out.splitlines()]
    assert results["sqlite"] == results["postgres"]
    rows = results["sqlite"]
    assert len(rows) == 8  # four turns in the last 7 days (the 40-day-old one is left out)
    assert {r["user"] for r in rows} == {user_ref("o-a"), user_ref("o-b")}
    text = json.dumps(rows, ensure_ascii=False)
    assert "o-a" not in text and "13912345678" not in text and "139****5678" in text
    out_file = tmp_path / "export.jsonl"
    code, out, err = _run(["export", "--since", "7", "--out", str(out_file),
                           "--db", both["sqlite"]], capsys)
    assert code == 0 and out == "" and "wrote 8 messages" in err
    assert [json.loads(line) for line in out_file.read_text().splitlines()] == rows


@pytest.mark.parametrize("days", ["0", "-5", "nan"])
def test_export_refuses_a_period_that_is_not_positive(both, capsys, days):
    code, _, err = _run(["export", "--since", days, "--db", both["sqlite"]], capsys)
    assert code == 2 and "--since must be a positive number of days" in err


@pytest.mark.parametrize("days", ["0", "-5"])
def test_stats_refuses_zero_or_negative_days(both, capsys, days):
    code, _, err = _run(["stats", "--days", days, "--db", both["sqlite"]], capsys)
    assert code == 2 and "--days must be at least 1" in err


def test_users_agree(both, capsys):
    from wxloan.bot.logs import user_ref

    results = {}
    for engine, db in both.items():
        code, out, _ = _run(["users", "--json", "--db", db], capsys)
        assert code == 0
        results[engine] = [json.loads(line) for line in out.splitlines()]
    assert results["sqlite"] == results["postgres"]
    assert [u["ref"] for u in results["sqlite"]] == [user_ref(o) for o in ("o-b", "o-a", "o-old")]
    assert [u["messages"] for u in results["sqlite"]] == [4, 4, 2]


@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
def test_forget_on_either_engine_leaves_nothing_of_that_user(both, capsys, engine):
    from wxloan.bot.logs import user_ref

    db = both[engine]
    code, out, _ = _run(["forget", user_ref("o-a"), "--db", db], capsys)
    assert code == 0 and out.startswith(f"forgot {user_ref('o-a')}: ") and "messages: 4" in out
    code, out, _ = _run(["users", "--json", "--db", db], capsys)
    assert [json.loads(line)["ref"] for line in out.splitlines()] == [
        user_ref("o-b"), user_ref("o-old")]
    code, _, err = _run(["transcript", "o-a", "--db", db], capsys)
    assert code == 1
    code, out, _ = _run(["export", "--since", "100", "--db", db], capsys)
    assert user_ref("o-a") not in out and user_ref("o-b") in out
    code, _, err = _run(["forget", "o-a", "--db", db], capsys)
    assert code == 2 and "no user 'o-a'" in err


def test_backup_on_postgresql_is_one_line_pointing_at_its_tools(both, capsys, tmp_path):
    code, _, err = _run(["backup", str(tmp_path / "x.db"), "--db", both["postgres"]], capsys)
    assert code == 2 and "pg_dump" in err and "\n" not in err.strip()
