"""``wxloan serve`` on PostgreSQL: clear refusals, and two nodes on one database.

The nodes are real ``wxloan serve`` processes on two ports (as behind a load balancer),
sharing one database of the test server (``tests/postgres.py``). WeChat's part is played
with real signed requests.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import urllib.request
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from wxloan.bot.cli import main
from wxloan.bot.logs import user_ref
from tests.wechat import TOKEN, WeChat, message_xml

from .serving import Serve, child_env, free_port

pytestmark = pytest.mark.usefixtures("postgres_server")


# -- refused starts: one line naming the setting, exit 2, never the password ----------------


@pytest.mark.usefixtures("clean_env", "restore_logging")
@pytest.mark.parametrize(("make_url", "parts"), [
    (lambda pg, port: f"postgresql://u:s3cret-pw@127.0.0.1:{port}/x",
     ["ConnectionRefusedError"]),
    (lambda pg, port: pg.url("postgres", password="s3cret-pw"),
     ["InvalidPasswordError", "password authentication failed"]),
    (lambda pg, port: pg.url("no_such_db"),
     ["InvalidCatalogNameError", "no_such_db"]),
    (lambda pg, port: "postgresql://u:s3cret-pw@127.0.0.1:notaport/x", ["ValueError"]),
], ids=["refused", "wrong password", "no such database", "bad port"])
def test_a_database_that_cannot_be_used_is_one_line(make_url, parts, postgres_server, capsys,
                                                    monkeypatch):
    def must_not_serve(*_args: object) -> None:
        raise AssertionError("serve got past its start-up checks")

    monkeypatch.setattr("wxloan.bot.cli.run_single", must_not_serve)
    monkeypatch.setenv("WECHAT_TOKEN", TOKEN)
    url = make_url(postgres_server, free_port())
    assert main(["serve", "--db", url, "--port", str(free_port())]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1, err
    assert err.startswith("wxloan: --db / WXLOAN_DB: cannot use postgresql://"), err
    for part in parts:
        assert part in err
    password = url.split(":")[2].split("@")[0]
    assert password not in err and "***" in err


# -- two nodes, one database -----------------------------------------------------------------


@pytest.fixture
def nodes(pg_url: str) -> Iterator[tuple[tuple[Serve, int], tuple[Serve, int]]]:
    """Two ``wxloan serve`` processes on one PostgreSQL database (started side by side)."""
    started = []
    try:
        for _ in range(2):
            port = free_port()
            started.append((Serve("--port", str(port), "--db", pg_url,
                                  env=child_env(WECHAT_TOKEN=TOKEN)), port))
        for server, _ in started:
            server.wait_for("wxloan serving")
        yield started[0], started[1]
    finally:
        for server, _ in started:
            server.close()


async def _in_turn(ports: list[int], openid: str, texts: list[str]) -> list[Any]:
    """Send ``texts`` one after another, each to the next node in ``ports``."""
    replies = []
    sessions = [aiohttp.ClientSession(base_url=f"http://127.0.0.1:{p}") for p in ports]
    try:
        for n, text in enumerate(texts):
            wechat = WeChat(sessions[n % len(sessions)])  # type: ignore[arg-type]
            replies.append(await wechat.text(openid, text))
    finally:
        for session in sessions:
            await session.close()
    return replies


def test_a_conversation_moves_between_nodes_and_keeps_its_state(nodes, postgres_server, pg_url):
    (first, port_a), (second, port_b) = nodes
    # the pay score goes to one node, the next answer to the other: the state is shared
    replies = asyncio.run(_in_turn([port_a, port_b, port_a], "o-moving",
                                   ["能开通微粒贷吗", "支付分七百二", "没有逾期"]))
    assert all(r.status == 200 for r in replies)
    assert "720" in replies[1].content
    assert "微粒贷" in replies[2].content
    database = pg_url.rsplit("/", 1)[1]
    count = postgres_server.psql(
        "SELECT count(*) FROM messages WHERE openid = 'o-moving' AND direction = 'in'",
        database)
    assert count.strip() == "3"
    slots = json.loads(postgres_server.psql(
        "SELECT slots FROM sessions WHERE openid = 'o-moving'", database))
    assert slots.get("pay_score") == 720
    del first, second


async def _storm(ports: list[int], count: int) -> list[list[str]]:
    """Each of ``count`` messages delivered three times at once to every node."""
    sessions = [aiohttp.ClientSession(base_url=f"http://127.0.0.1:{p}") for p in ports]
    try:
        wechats = [WeChat(s) for s in sessions]  # type: ignore[arg-type]

        async def deliveries(n: int) -> list[str]:
            xml = message_xml(f"o-storm-{n}", "text", int(wechats[0].clock()),
                              Content="怎么提额", MsgId=9_100_000 + n)
            sent = [w.post(xml) for w in wechats for _ in range(3)]
            return [r.content for r in await asyncio.gather(*sent)]

        return list(await asyncio.gather(*(deliveries(n) for n in range(count))))
    finally:
        for session in sessions:
            await session.close()


def test_a_retry_storm_on_both_nodes_is_processed_once(nodes, postgres_server, pg_url):
    (_, port_a), (_, port_b) = nodes
    results = asyncio.run(_storm([port_a, port_b], 12))
    for replies in results:
        assert len(set(replies)) == 1, replies  # six deliveries, one reply
        assert replies[0] and replies[0] != "success"
    database = pg_url.rsplit("/", 1)[1]
    rows = postgres_server.psql(
        "SELECT count(*), count(DISTINCT openid) FROM messages"
        " WHERE openid LIKE 'o-storm-%' AND direction = 'in'", database)
    assert rows.strip() == "12|12"  # each message logged once, never twice


def test_killing_a_node_under_load_loses_nothing(nodes, postgres_server, pg_url):
    """``kill -9`` one node while messages are in flight; WeChat re-sends to the other."""
    (first, port_a), (_, port_b) = nodes

    async def scenario() -> tuple[list[str], list[str]]:
        async with aiohttp.ClientSession(base_url=f"http://127.0.0.1:{port_a}") as a, \
                aiohttp.ClientSession(base_url=f"http://127.0.0.1:{port_b}") as b:
            wa, wb = WeChat(a), WeChat(b)  # type: ignore[arg-type]
            xmls = [message_xml(f"o-kill-{n}", "text", int(wa.clock()), Content="怎么提额",
                                MsgId=9_200_000 + n) for n in range(30)]
            answered = [r.content for r in await asyncio.gather(*(wa.post(x) for x in xmls[:10]))]
            # the other 20 are sent to A, which is killed while they are in flight: each
            # was processed or not, answered or not; WeChat re-sends all 30 to B
            in_flight = [asyncio.ensure_future(wa.post(x)) for x in xmls[10:]]
            # kill A as soon as it has answered one of them (its log line says so): the
            # rest are in flight or not yet sent
            later = {user_ref(f"o-kill-{n}") for n in range(10, 30)}
            await asyncio.to_thread(first.wait_for, "message", lambda e: e["user"] in later)
            os.kill(first.proc.pid, signal.SIGKILL)
            for result in await asyncio.gather(*in_flight, return_exceptions=True):
                if not isinstance(result, BaseException) and result.status == 200:
                    answered.append(result.content)
            again = [r.content for r in await asyncio.gather(*(wb.post(x) for x in xmls))]
            return answered, again

    answered, again = asyncio.run(scenario())
    assert len(again) == 30 and all(r and r != "success" for r in again)
    for reply in answered:  # what node A answered before dying is what B answers now
        assert reply in again
    database = pg_url.rsplit("/", 1)[1]
    rows = postgres_server.psql(
        "SELECT count(*), count(DISTINCT openid) FROM messages"
        " WHERE openid LIKE 'o-kill-%' AND direction = 'in'", database)
    assert rows.strip() == "30|30"  # none lost, none doubled


def test_health_and_logs_never_show_the_password(nodes, pg_url):
    (first, port_a), _ = nodes
    with urllib.request.urlopen(f"http://127.0.0.1:{port_a}/healthz", timeout=5) as resp:
        body = json.loads(resp.read())
    assert body["database"] == "ok"
    password = pg_url.split(":")[2].split("@")[0]
    assert password not in json.dumps(body)
    serving = first.logged("wxloan serving")[0]
    assert serving["db"].startswith("postgresql://") and "***" in serving["db"]
    assert password not in first.text()


# -- the access token: one refresh in flight across nodes ------------------------------------


async def test_nodes_refresh_the_access_token_once_between_them(pg_url, aiohttp_server, clock):
    from wxloan.bot.standin import StandIn, create_standin_app
    from wxloan.bot.wechat_api import WeChatApi
    from wxloan.storage import PostgresTarget, open_database

    standin = StandIn(apps={"wxnodes": "s3cret"}, clock=clock)
    base = str((await aiohttp_server(create_standin_app(standin))).make_url("")).rstrip("/")
    stores = [await open_database(PostgresTarget(pg_url)) for _ in range(2)]
    try:
        async with aiohttp.ClientSession() as http:
            nodes = [WeChatApi(session=http, store=store, api_base=base, app_id="wxnodes",
                               app_secret="s3cret", clock=clock) for store in stores]
            tokens = await asyncio.gather(*(node.token() for node in nodes * 4))
            assert len(set(tokens)) == 1 and standin.token_requests == 1
            # a token refused as expired: both nodes force a refresh at once, one happens
            stale = tokens[0]
            fresh = await asyncio.gather(*(n.token(force=True, stale=stale) for n in nodes))
            assert fresh[0] == fresh[1] != stale and standin.token_requests == 2
    finally:
        for store in stores:
            await store.close()
