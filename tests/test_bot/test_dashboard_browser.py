"""The dashboard in a real browser: Playwright driving Debian's Chromium over a fixture
database of a few hundred generated conversations. Every tab draws its charts and lists
with no console error; a conversation opens as bubbles, masked; the token's login form
lets a browser in. Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest

from tests.dashboard_data import NOW, plan, write
from wxloan.bot.dashboard.analytics import day_of
from wxloan.bot.dashboard.app import create_dashboard_app
from wxloan.bot.dashboard.source import Source, open_feed

pytestmark = pytest.mark.usefixtures("clean_env", "restore_logging")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
TOKEN = "browser-test-token-0123456789"
FIXTURE = plan(300)


@pytest.fixture
def playwright_api() -> Any:
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing (Debian package 'chromium')")
    return pytest.importorskip("playwright.async_api",
                               reason="the 'playwright' Python package is not installed")


async def _server(aiohttp_server: Any, tmp_path: Path, **kw: Any) -> Any:
    db = tmp_path / "browser.db"
    await write(db, FIXTURE)
    source = Source(await open_feed(db), 0.5, interval=0)
    app = create_dashboard_app(source, clock=lambda: NOW, watch_deletions=False, **kw)
    return await aiohttp_server(app, host="127.0.0.1")


async def _open(playwright: Any, errors: list[str], width: int = 1280) -> tuple[Any, Any]:
    browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                               args=CHROMIUM_ARGS)
    context = await browser.new_context(viewport={"width": width, "height": 900},
                                        locale="zh-CN", accept_downloads=True)
    page = await context.new_page()
    page.set_default_timeout(15_000)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    # no network beyond the dashboard itself: anything else would fail the page
    await context.route("**/*", lambda route: (
        route.continue_() if route.request.url.startswith("http://127.0.0.1") else route.abort()))
    return browser, page


async def _charted(page: Any, testid: str) -> None:
    """The canvas has been drawn by Chart.js (it registers every chart it draws)."""
    drawn = await page.evaluate(
        "(id) => { const c = document.querySelector(`[data-testid=${id}]`);"
        " return !!(window.Chart && window.Chart.getChart(c)); }", testid)
    assert drawn, f"{testid} was not drawn"


async def test_every_tab_draws_and_a_conversation_opens(playwright_api, aiohttp_server,
                                                        tmp_path):
    expect = playwright_api.expect
    server = await _server(aiohttp_server, tmp_path)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    async with playwright_api.async_playwright() as playwright:
        browser, page = await _open(playwright, errors)
        try:
            await page.goto(str(server.make_url("/")))
            await expect(page.locator("body")).to_have_attribute("data-ready", "true")
            await expect(page.get_by_test_id("card-users")).to_have_text("用户300")
            await page.get_by_test_id("days").select_option("1")  # today only: fewer
            today = len({t.openid for t in FIXTURE.turns if day_of(t.at) == day_of(NOW)})
            assert 0 < today < 300
            await expect(page.get_by_test_id("card-users")).to_have_text(f"用户{today}")
            await page.get_by_test_id("days").select_option("30")
            await expect(page.get_by_test_id("card-users")).to_have_text("用户300")
            for chart in ("chart-daily", "chart-latency", "chart-scams", "chart-outcomes"):
                await _charted(page, chart)
            await page.screenshot(path=str(ARTIFACTS / "dashboard-overview.png"), full_page=True)

            await page.get_by_test_id("tab-funnel").click()
            await expect(page.get_by_test_id("funnel-eligibility")).to_be_visible()
            await expect(page.get_by_test_id("funnel-eligibility")).to_contain_text("能否开通")
            await _charted(page, "chart-turns")
            await page.screenshot(path=str(ARTIFACTS / "dashboard-funnel.png"), full_page=True)

            await page.get_by_test_id("tab-understanding").click()
            await expect(page.get_by_test_id("group").first).to_be_visible()
            await expect(page.get_by_test_id("groups-table")).to_contain_text("139****5678")
            await expect(page.get_by_test_id("groups-table")).not_to_contain_text("13912345678")
            await _charted(page, "chart-intents")
            async with page.expect_download() as download_info:
                await page.get_by_test_id("export").click()
            download = await download_info.value
            assert download.suggested_filename.endswith(".yml")
            assert "version: 1" in Path(await download.path()).read_text(encoding="utf-8")

            await page.get_by_test_id("tab-conversations").click()
            rows = page.get_by_test_id("conversation")
            await expect(rows).to_have_count(20)
            await expect(page.get_by_test_id("page-label")).to_contain_text("共 300 人")
            await page.get_by_test_id("next").click()
            await expect(page.get_by_test_id("page-label")).to_contain_text("第 2 /")
            await page.get_by_test_id("search").fill("fx-7-0000")
            await page.get_by_test_id("search").press("Enter")
            await expect(page.get_by_test_id("page-label")).to_contain_text("第 1 /")
            await rows.first.click()
            await expect(page.get_by_test_id("chat-title")).to_contain_text("对话")
            bubble = page.get_by_test_id("bubble-in").first
            await expect(bubble).to_be_visible()
            assert "意图" in (await bubble.get_attribute("title") or "")
            assert "耗时" in (await bubble.get_attribute("title") or "")
            await page.screenshot(path=str(ARTIFACTS / "dashboard-conversation.png"),
                                  full_page=True)
            assert await page.evaluate("document.body.dataset.error") == ""
        finally:
            await browser.close()
    assert errors == []


async def test_the_login_form_lets_a_browser_in(playwright_api, aiohttp_server, tmp_path):
    expect = playwright_api.expect
    server = await _server(aiohttp_server, tmp_path, token=TOKEN)
    errors: list[str] = []
    async with playwright_api.async_playwright() as playwright:
        browser, page = await _open(playwright, errors, width=420)
        try:
            await page.goto(str(server.make_url("/")))
            await expect(page.get_by_test_id("login-form")).to_be_visible()
            await page.get_by_test_id("token").fill("wrong-token")
            await page.get_by_test_id("login").click()
            await expect(page).to_have_url(re.compile(r"failed=1"))
            await page.get_by_test_id("token").fill(TOKEN)
            await page.get_by_test_id("login").click()
            await expect(page.locator("body")).to_have_attribute("data-ready", "true")
            await expect(page.get_by_test_id("card-messages_in")).to_be_visible()
        finally:
            await browser.close()
    assert errors == []


def test_the_fixture_runs_in_its_own_loop() -> None:
    """Sanity: the plan is deterministic (the tests above rely on its numbers)."""
    assert [t.openid for t in plan(5).turns] == [t.openid for t in plan(5).turns]
    assert asyncio.iscoroutinefunction(write)
