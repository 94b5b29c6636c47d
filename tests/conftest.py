"""Shared fixtures: settings on a temp database, a fake clock, a real app and client."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from wxloan.bot import Settings, create_app
from tests.wechat import AES_KEY, APP_ID, TOKEN, WeChat


class FakeClock:
    """Wall clock the test controls (session expiry, replay window)."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the turns-to-verdict table of the conversation transcripts, when they ran."""
    from tests.test_conversations import verdict_report

    lines = verdict_report()
    if lines:
        terminalreporter.section("turns to the first verdict (tests/conversations)")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "wxloan.db"


@pytest.fixture
def settings(db_path: Path) -> Settings:
    return Settings(token=TOKEN, app_id=APP_ID, aes_key=AES_KEY, db_path=db_path)


MakeWeChat = Callable[..., Awaitable[WeChat]]


@pytest.fixture
def make_wechat(aiohttp_client: Any, settings: Settings, clock: FakeClock) -> MakeWeChat:
    """Start a real app (optionally with other settings/router) and return a WeChat."""

    async def make(settings: Settings = settings, **app_kwargs: Any) -> WeChat:
        app_kwargs.setdefault("clock", clock)
        client: TestClient[Any, Any] = await aiohttp_client(create_app(settings, **app_kwargs))
        return WeChat(client, token=settings.token, clock=app_kwargs["clock"])

    return make


@pytest.fixture
async def wechat(make_wechat: MakeWeChat) -> WeChat:
    return await make_wechat()


def rows(db_path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Read the database file directly, as an operator would."""
    with sqlite3.connect(db_path) as conn:
        return conn.execute(sql, params).fetchall()


@pytest.fixture(scope="session")
def postgres_server() -> Any:
    """A throwaway PostgreSQL server for the whole session (started on first use).

    Skipped where no PostgreSQL binaries exist; on CI (``CI`` set) that is a failure.
    """
    import os

    from tests.postgres import find_bindir, running_server

    if find_bindir() is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run the PostgreSQL tests: install Debian's postgresql package")
        pytest.skip("no PostgreSQL server binaries (apt-get install postgresql)")
    with running_server() as server:
        yield server


@pytest.fixture
def pg_url(postgres_server: Any) -> str:
    """The URL of a fresh, empty database on the test server."""
    return str(postgres_server.url(postgres_server.create_database()))
