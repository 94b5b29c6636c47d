"""``wxloan dashboard``'s API over generated conversations, checked against the plan that
generated them (computed here, independently of the dashboard's code); its security; the
same answers on PostgreSQL; the command's refusals.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from tests.dashboard_data import NOW, Plan, plan, write
from wxloan.bot.cli import main
from wxloan.bot.dashboard.analytics import day_of
from wxloan.bot.dashboard.app import CSP, create_dashboard_app
from wxloan.bot.dashboard.source import Source, open_feed
from wxloan.bot.logs import user_ref
from wxloan.storage import PostgresTarget

pytestmark = pytest.mark.usefixtures("clean_env", "restore_logging")

USERS = 300
CONFIDENCE = 0.5
TOKEN = "a-long-dashboard-token-for-tests"


@pytest.fixture(scope="module")
def fixture_plan() -> Plan:
    return plan(USERS)


@pytest.fixture
def db(tmp_path: Path, fixture_plan: Plan) -> Path:
    path = tmp_path / "dash.db"
    asyncio.run(write(path, fixture_plan))
    return path


async def _client(aiohttp_client: Any, target: Any, **kw: Any) -> Any:
    source = Source(await open_feed(target), CONFIDENCE, interval=0)
    client = await aiohttp_client(create_dashboard_app(source, clock=lambda: NOW,
                                                       watch_deletions=False, **kw))
    client.source = source  # the tests run its deletion check themselves
    return client


# -- what the plan says the numbers are -----------------------------------------------


def _in_period(fixture: Plan, days: int) -> list[Any]:
    first = day_of(NOW) - days + 1
    return [t for t in fixture.turns if day_of(t.at) >= first]


def _expected_summary(fixture: Plan, days: int) -> dict[str, Any]:
    turns = _in_period(fixture, days)
    metas = [t.meta for t in turns if t.meta is not None]
    first = day_of(NOW) - days + 1
    duplicates = sum(n for i, n in fixture.duplicates if day_of(fixture.turns[i].at + 5) >= first)
    scams = Counter(p for m in metas for p in m["scam"])
    p50, p99 = np.percentile([m["ms"] for m in metas], [50, 99])
    return {
        "users": len({t.openid for t in turns}),
        "messages_in": len(turns),
        "messages_out": sum(t.replies for t in turns),
        "fallbacks": sum(bool(m.get("fallback")) for m in metas),
        "verdicts": sum(m["verdict"] for m in metas),
        "scam_warnings": sum(scams.values()),
        "scam_patterns": dict(scams),
        "handoffs": sum(m["handoff"] for m in metas),
        "outcomes": {"replies": sum(t.replies for t in turns), "duplicates": duplicates,
                     "late": sum(m["late"] for m in metas),
                     "errors": sum(m["error"] for m in metas)},
        "latency_ms": {"p50": round(float(p50)), "p99": round(float(p99)), "count": len(metas)},
    }


def _expected_funnel(fixture: Plan, days: int) -> dict[str, dict[str, Any]]:
    first = day_of(NOW) - days + 1
    episodes: dict[tuple[str, str], dict[str, Any]] = {}
    for t in fixture.turns:  # already in time order per user
        flow = (t.meta or {}).get("flow")
        if not flow or flow == "handoff":
            continue
        e = episodes.setdefault((t.openid, flow), {"day": day_of(t.at), "turns": 0,
                                                   "verdict": False, "step": None})
        if not e["verdict"]:
            e["turns"] += 1
            e["verdict"] = t.meta["verdict"]
            e["step"] = t.meta["step"] or e["step"]  # leaving asks nothing: the last question
    flows: dict[str, dict[str, Any]] = {}
    for (_, flow), e in episodes.items():
        if e["day"] < first:
            continue
        f = flows.setdefault(flow, {"started": 0, "reached": 0, "turns": Counter(),
                                    "stopped": Counter()})
        f["started"] += 1
        if e["verdict"]:
            f["reached"] += 1
            f["turns"][e["turns"]] += 1
        else:
            f["stopped"][e["step"] or "(no question)"] += 1
    return flows


# -- the API --------------------------------------------------------------------------


@pytest.mark.parametrize("days", [1, 3, 10])
async def test_summary_matches_the_plan_exactly(aiohttp_client, db, fixture_plan, days):
    client = await _client(aiohttp_client, db)
    resp = await client.get(f"/api/summary?days={days}")
    assert resp.status == 200
    got = await resp.json()
    expected = _expected_summary(fixture_plan, days)
    assert {key: got[key] for key in expected} == expected
    assert len(got["per_day"]) == days
    assert sum(d["messages_in"] for d in got["per_day"]) == expected["messages_in"]
    assert got["fallback_rate"] == round(100 * expected["fallbacks"] / expected["messages_in"], 1)


async def test_funnel_matches_the_plan(aiohttp_client, db, fixture_plan):
    client = await _client(aiohttp_client, db)
    got = await (await client.get("/api/funnel?days=10")).json()
    expected = _expected_funnel(fixture_plan, 10)
    assert {f["flow"] for f in got["flows"]} == set(expected) == {
        "eligibility", "rejection", "calculator"}
    for row in got["flows"]:
        e = expected[row["flow"]]
        assert (row["started"], row["reached"]) == (e["started"], e["reached"])
        assert {t["turns"]: t["users"] for t in row["turns_to_verdict"]} == dict(e["turns"])
        assert {s["step"]: s["users"] for s in row["stopped_at"]} == dict(e["stopped"])
    eligibility = next(f for f in got["flows"] if f["flow"] == "eligibility")
    assert {t["turns"] for t in eligibility["turns_to_verdict"]} == {1, 3}  # answer-first, or 3
    assert {s["step"] for s in eligibility["stopped_at"]} == {"pay_score", "overdue"}


async def test_understanding_groups_and_masks_and_downloads(aiohttp_client, db, fixture_plan):
    client = await _client(aiohttp_client, db)
    got = await (await client.get("/api/understanding?days=10")).json()
    unsure = [t for t in fixture_plan.turns
              if t.meta and (t.meta.get("fallback") or t.meta.get("clarify")
                             or t.meta.get("confidence", 1) < CONFIDENCE)]
    assert got["messages"] == len(unsure)
    assert sum(g["messages"] for g in got["groups"]) == len(unsure)
    texts = json.dumps(got, ensure_ascii=False)
    assert "13912345678" not in texts and "139****5678" in texts
    # 嗯嗯那个啥 and 嗯嗯那个啥啊 are one question
    assert not any(g["example"] in ("嗯嗯那个啥", "嗯嗯那个啥啊") and
                   {v["text"] for v in g["variants"]} != {"嗯嗯那个啥", "嗯嗯那个啥啊"}
                   for g in got["groups"])
    assert got["intents"]["eligibility"] > 0

    resp = await client.get("/api/understanding/export?days=10")
    assert resp.status == 200 and "attachment" in resp.headers["Content-Disposition"]
    exported = yaml.safe_load(await resp.text())
    assert exported["version"] == 1 and exported["intents"]
    assert "139****5678" in await resp.text()


async def test_conversations_list_search_page_and_one_conversation(aiohttp_client, db,
                                                                   fixture_plan):
    client = await _client(aiohttp_client, db)
    listed = await (await client.get("/api/conversations?days=10")).json()
    assert listed["total"] == len({t.openid for t in fixture_plan.turns})
    assert len(listed["items"]) == 20
    seen = [item["last_seen"] for item in listed["items"]]
    assert seen == sorted(seen, reverse=True)
    second = await (await client.get("/api/conversations?days=10&page=2")).json()
    assert not {i["openid"] for i in second["items"]} & {i["openid"] for i in listed["items"]}

    masked_user = next(t.openid for t in fixture_plan.turns if "13912345678" in t.text)
    ref = user_ref(masked_user)
    found = await (await client.get(f"/api/conversations?days=10&q={ref}")).json()
    assert [i["openid"] for i in found["items"]] == [masked_user]
    part = await (await client.get(f"/api/conversations?days=10&q={ref[2:9]}")).json()
    assert masked_user in [i["openid"] for i in part["items"]]  # part of a log reference
    one = await (await client.get(f"/api/conversations/{ref}")).json()
    assert one["openid"] == masked_user
    inbound = [m for m in one["messages"] if m["direction"] == "in"]
    assert inbound[0]["content"] == "我手机139****5678能借吗"
    assert "ms" in inbound[0] and "intent" in inbound[0]
    assert (await client.get("/api/conversations/nobody")).status == 404


async def test_new_rows_and_deletions_are_picked_up(aiohttp_client, db, fixture_plan):
    client = await _client(aiohttp_client, db)
    before = await (await client.get("/api/summary?days=10")).json()
    victim = fixture_plan.turns[0].openid
    assert main(["forget", victim, "--db", str(db)]) == 0
    assert await client.source.check() is True
    assert await client.source.check() is False  # counted again: nothing missing now
    after = await (await client.get("/api/summary?days=10")).json()
    assert after["users"] == before["users"] - 1
    more = Plan(turns=[t.__class__(**{**{f: getattr(t, f) for f in t.__slots__},
                                      "openid": "fx-new", "at": NOW - 60})
                       for t in fixture_plan.turns[:1]])
    await write(db, more, key="more-")
    latest = await (await client.get("/api/summary?days=10")).json()
    assert latest["messages_in"] == after["messages_in"] + 1


@pytest.mark.parametrize("query", ["days=0", "days=367", "days=abc", "days=-1", 'days=a"b'])
async def test_bad_periods_are_400(aiohttp_client, db, query):
    client = await _client(aiohttp_client, db)
    resp = await client.get("/api/summary", params={"days": query.split("=", 1)[1]})
    assert resp.status == 400 and "days" in json.loads(await resp.text())["error"]


@pytest.mark.parametrize("page", ["0", "-3", "x"])
async def test_bad_pages_are_400(aiohttp_client, db, page):
    client = await _client(aiohttp_client, db)
    resp = await client.get("/api/conversations", params={"page": page})
    assert resp.status == 400 and "page" in (await resp.json())["error"]


async def test_forgetting_the_newest_user_whose_ids_sqlite_hands_out_again(
        aiohttp_client, db, fixture_plan):
    """SQLite reuses the ids of deleted newest rows: the recount must notice."""
    client = await _client(aiohttp_client, db)
    before = await (await client.get("/api/summary?days=10")).json()
    newest = fixture_plan.turns[-1]
    gone = sum(1 for t in fixture_plan.turns if t.openid == newest.openid)
    assert main(["forget", newest.openid, "--db", str(db)]) == 0
    later = [t.__class__(**{**{f: getattr(t, f) for f in t.__slots__},
                            "openid": f"fx-later-{n}", "at": NOW - 30 + n})
             for n, t in enumerate(fixture_plan.turns[:gone])]
    await write(db, Plan(turns=later), key="later-")  # as many rows, on the freed ids
    assert await client.source.check() is True
    after = await (await client.get("/api/summary?days=10")).json()
    assert after["messages_in"] == before["messages_in"]
    assert after["users"] == before["users"] - 1 + gone
    found = await (await client.get(f"/api/conversations?q={newest.openid}")).json()
    assert found["total"] == 0


async def test_a_row_committed_after_a_higher_id_is_still_counted(aiohttp_client, db):
    """On PostgreSQL ids are taken before the commit, so a read can pass one by; the gap
    is read again."""
    import sqlite3

    client = await _client(aiohttp_client, db)
    before = (await (await client.get("/api/summary?days=10")).json())["messages_in"]
    with sqlite3.connect(db) as conn:
        top = conn.execute("SELECT MAX(id) FROM messages").fetchone()[0]
        conn.execute("INSERT INTO messages (id, openid, direction, msg_type, content,"
                     " created_at) VALUES (?, 'late-b', 'in', 'text', '后来的', ?)",
                     (top + 2, NOW - 5))
    assert (await (await client.get("/api/summary?days=10")).json())["messages_in"] == before + 1
    with sqlite3.connect(db) as conn:  # the lower id commits only now
        conn.execute("INSERT INTO messages (id, openid, direction, msg_type, content,"
                     " created_at) VALUES (?, 'late-a', 'in', 'text', '先来的', ?)",
                     (top + 1, NOW - 6))
    assert (await (await client.get("/api/summary?days=10")).json())["messages_in"] == before + 2


# -- security ------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["/%5Cevil.example", "/%09/evil.example", "//evil.example",
                                    "https://evil.example/", "/%0d%0aSet-Cookie:x=1"])
async def test_a_login_never_sends_the_browser_elsewhere(aiohttp_client, db, target):
    client = await _client(aiohttp_client, db, token=TOKEN)
    resp = await client.post(f"/login?next={target}", data={"token": TOKEN},
                             allow_redirects=False)
    assert resp.status == 302 and resp.headers["Location"] == "/"
    kept = await client.post("/login?next=/%3Ftab%3Dfunnel", data={"token": TOKEN},
                             allow_redirects=False)
    assert kept.headers["Location"] == "/?tab=funnel"


async def test_wrong_tokens_are_throttled(aiohttp_client, db):
    client = await _client(aiohttp_client, db, token=TOKEN)
    for _ in range(5):
        wrong = await client.post("/login", data={"token": "guess"}, allow_redirects=False)
        assert wrong.status == 302 and "failed=1" in wrong.headers["Location"]
    blocked = await client.post("/login", data={"token": TOKEN}, allow_redirects=False)
    assert blocked.status == 429 and blocked.headers["Content-Security-Policy"] == CSP
    assert (await client.get("/api/summary", headers={"Authorization": f"Bearer {TOKEN}"})
            ).status == 200  # API clients with the token are not held up by the form's guard


async def test_header_bytes_that_are_not_utf8_are_refused_not_a_500(aiohttp_client, db):
    client = await _client(aiohttp_client, db, token=TOKEN)
    host, port = client.server.host, client.server.port
    for header in (b"Authorization: Bearer \xff\xfe", b"Cookie: wxloan_dashboard=\xff"):
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(b"GET /api/summary HTTP/1.1\r\nHost: 127.0.0.1\r\n" + header
                     + b"\r\nConnection: close\r\n\r\n")
        await writer.drain()
        status = (await reader.readline()).split()[1]
        writer.close()
        assert status == b"401", header


@pytest.mark.parametrize(("host", "status"), [("evil.example", 403), ("evil.example:8090", 403),
                                              ("localhost:8090", 200), ("127.0.0.1", 200),
                                              ("[::1]:8090", 200)])
async def test_without_a_token_only_loopback_names_are_served(aiohttp_client, db, host, status):
    """A DNS-rebinding page (its own name pointed at 127.0.0.1) gets nothing."""
    client = await _client(aiohttp_client, db)
    resp = await client.get("/api/summary", headers={"Host": host})
    assert resp.status == status and resp.headers["Content-Security-Policy"] == CSP


async def test_a_token_guards_everything_but_the_login(aiohttp_client, db):
    client = await _client(aiohttp_client, db, token=TOKEN)
    resp = await client.get("/api/summary")
    assert resp.status == 401 and resp.headers["Content-Security-Policy"] == CSP
    wrong = await client.get("/api/summary", headers={"Authorization": "Bearer nope"})
    assert wrong.status == 401
    ok = await client.get("/api/summary", headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status == 200
    page = await client.get("/", allow_redirects=False)
    assert page.status == 302 and page.headers["Location"].startswith("/login")
    failed = await client.post("/login", data={"token": "wrong"}, allow_redirects=False)
    assert "failed=1" in failed.headers["Location"]
    assert (await client.get("/", allow_redirects=False)).status == 302
    login = await client.post("/login?next=/", data={"token": TOKEN}, allow_redirects=False)
    assert login.status == 302 and TOKEN not in login.headers.get("Set-Cookie", "")
    assert (await client.get("/", allow_redirects=False)).status == 200  # the cookie
    assert (await client.get("/api/funnel")).status == 200


async def test_no_write_endpoint_and_strict_headers_everywhere(aiohttp_client, db):
    client = await _client(aiohttp_client, db)
    for path in ("/api/summary", "/api/conversations", "/api/understanding", "/"):
        for method in ("POST", "PUT", "DELETE", "PATCH"):
            assert (await client.request(method, path)).status == 405
    for path in ("/", "/static/app.js", "/static/chart.umd.min.js", "/api/summary",
                 "/nowhere", "/static/../app.py"):
        resp = await client.get(path)
        assert resp.headers["Content-Security-Policy"] == CSP, path
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert (await client.get("/static/..%2Fapp.py")).status == 404
    assert (await client.get("/static/..%2F..%2Fcli.py")).status == 404
    page = await (await client.get("/")).text()
    assert "<script>" not in page and "style=" not in page  # the CSP allows no inline code


def test_off_loopback_needs_a_token(db, capsys, monkeypatch):
    assert main(["dashboard", "--host", "0.0.0.0", "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "WXLOAN_DASHBOARD_TOKEN" in err
    monkeypatch.setenv("WXLOAN_DASHBOARD_TOKEN", "short")
    assert main(["dashboard", "--db", str(db)]) == 2
    assert "at least 16" in capsys.readouterr().err


def test_a_missing_database_is_one_line(tmp_path, capsys):
    assert main(["dashboard", "--db", str(tmp_path / "typo.db"), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "typo.db" in err


# -- PostgreSQL ------------------------------------------------------------------------


async def test_postgresql_answers_the_same(aiohttp_client, db, fixture_plan, pg_url):
    await write(PostgresTarget(pg_url), fixture_plan)
    sqlite = await _client(aiohttp_client, db)
    postgres = await _client(aiohttp_client, PostgresTarget(pg_url))
    for path in ("/api/summary?days=10", "/api/funnel?days=7", "/api/understanding?days=10",
                 "/api/conversations?days=10&page=3"):
        a = await (await sqlite.get(path)).json()
        b = await (await postgres.get(path)).json()
        assert a == b, path
    ref = user_ref(fixture_plan.turns[0].openid)
    a = await (await sqlite.get(f"/api/conversations/{ref}")).json()
    b = await (await postgres.get(f"/api/conversations/{ref}")).json()
    assert [m["content"] for m in a["messages"]] == [m["content"] for m in b["messages"]]


# -- over what serve itself wrote -----------------------------------------------------


async def test_real_conversations_through_the_webhook_show_up(aiohttp_client, wechat, db_path):
    """Messages sent as WeChat sends them, answered by the production dialogue; the
    dashboard reads what the pipeline recorded."""
    await wechat.text("real-a", "支付分七百二，没有逾期，最近三个月查了两次征信，我是上班族")
    await wechat.text("real-b", "微粒贷能开通吗")
    await wechat.text("real-c", "有人说先交两千保证金就能放款，是真的吗")
    await wechat.text("real-c", "我手机13912345678")
    source = Source(await open_feed(db_path), CONFIDENCE, interval=0)
    client = await aiohttp_client(create_dashboard_app(source, clock=wechat.clock,
                                                       watch_deletions=False))
    summary = await (await client.get("/api/summary?days=1")).json()
    assert (summary["users"], summary["messages_in"]) == (3, 4)
    assert summary["verdicts"] == 1 and summary["scam_warnings"] == 1
    assert summary["latency_ms"]["count"] == 4 and summary["latency_ms"]["p50"] is not None
    funnel = await (await client.get("/api/funnel?days=1")).json()
    eligibility = next(f for f in funnel["flows"] if f["flow"] == "eligibility")
    assert (eligibility["started"], eligibility["reached"]) == (2, 1)
    assert eligibility["turns_to_verdict"] == [{"turns": 1, "users": 1}]  # answered first
    one = await (await client.get(f"/api/conversations/{user_ref('real-c')}")).json()
    assert "139****5678" in json.dumps(one, ensure_ascii=False)
    assert "13912345678" not in json.dumps(one, ensure_ascii=False)


def test_the_command_serves_until_sigterm(db, tmp_path):
    """``wxloan dashboard`` as an operator starts it: one line per step, the API answers,
    SIGTERM stops it with exit code 0."""
    import os
    import signal
    import subprocess
    import sys
    import urllib.request

    env = {k: v for k, v in os.environ.items() if not k.startswith(("WXLOAN_", "WECHAT_"))}
    proc = subprocess.Popen([sys.executable, "-m", "wxloan", "dashboard", "--port", "0",
                             "--db", str(db)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        counted = proc.stdout.readline()
        assert counted.startswith("wxloan dashboard: counted ") and " messages of " in counted
        listening = proc.stdout.readline()
        url = listening.split()[2]
        assert url.startswith("http://127.0.0.1:") and "read-only" in listening
        with urllib.request.urlopen(url + "api/summary?days=366", timeout=30) as resp:
            assert json.loads(resp.read())["messages_in"] > 0
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
