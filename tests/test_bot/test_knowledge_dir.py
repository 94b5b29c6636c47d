"""The operator's knowledge folder: export, check, serve from it, and /healthz naming it."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import signal
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from wxloan import __version__
from wxloan.bot.cli import main
from wxloan.knowledge.loader import DATA_DIR, data_fingerprint


@pytest.fixture
def exported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    folder = tmp_path / "knowledge"
    assert main(["knowledge", "export", str(folder)]) == 0
    assert "wrote" in capsys.readouterr().out
    return folder


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_an_export_checks_clean_and_has_the_shipped_fingerprint(
        exported: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert data_fingerprint(exported) == data_fingerprint(DATA_DIR)
    assert main(["knowledge", "check", str(exported)]) == 0
    out = capsys.readouterr().out
    assert "valid" in out and "no change(s)" in out


def test_export_refuses_a_folder_that_is_not_empty(
        exported: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["knowledge", "export", str(exported)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert main(["knowledge", "export", "--force", str(exported)]) == 0


def test_an_edited_figure_is_listed_as_a_change(
        exported: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(exported / "products.toml", "min_pay_score = 620", "min_pay_score = 640")
    assert main(["knowledge", "check", str(exported)]) == 0
    out = capsys.readouterr().out
    assert "products.toml: products[0].min_pay_score: 620 -> 640" in out
    assert "1 change(s)" in out
    assert data_fingerprint(exported) != data_fingerprint(DATA_DIR)


def test_every_problem_is_one_line_and_exit_2(
        exported: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(exported / "products.toml", "min_pay_score = 620", 'min_pay_score = "x"')
    (exported / "menu.toml").write_text("not = [toml", encoding="utf-8")
    assert main(["knowledge", "check", str(exported)]) == 2
    lines = capsys.readouterr().out.splitlines()
    assert "products.toml: products[0].min_pay_score: expected integer, got str" in lines
    assert lines[-1].endswith("nothing was changed")


def test_check_defaults_to_the_configured_folder(
        exported: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    _edit(exported / "products.toml", "min_pay_score = 620", "min_pay_score = 640")
    monkeypatch.setenv("WXLOAN_KNOWLEDGE_DIR", str(exported))
    assert main(["knowledge", "check"]) == 0
    assert "620 -> 640" in capsys.readouterr().out


@pytest.mark.parametrize("broken", ["missing", "invalid"])
def test_serve_refuses_a_bad_folder_in_one_line(
        exported: Path, broken: str, capsys: pytest.CaptureFixture[str]) -> None:
    folder = exported / "nope" if broken == "missing" else exported
    if broken == "invalid":
        _edit(exported / "products.toml", "min_pay_score = 620", 'min_pay_score = "x"')
    assert main(["serve", "--knowledge", str(folder), "--port", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("wxloan: WXLOAN_KNOWLEDGE_DIR / --knowledge:") and "\n" not in err
    assert "Traceback" not in err


async def test_the_bot_answers_from_the_folder_and_healthz_names_it(
        make_wechat, settings, exported: Path) -> None:
    _edit(exported / "products.toml", "min_pay_score = 620", "min_pay_score = 640")
    shipped = await make_wechat()
    edited = await make_wechat(dataclasses.replace(settings, knowledge_dir=exported))
    question = "微粒贷要多少支付分"
    before = (await shipped.text("u1", question)).fields["Content"]
    after = (await edited.text("u1", question)).fields["Content"]
    assert "620" in before and "640" not in before
    assert "640" in after and "620" not in after
    health = await (await edited.client.get("/healthz")).json()
    assert health["version"] == __version__
    assert health["knowledge"] == {"hash": data_fingerprint(exported), "source": str(exported)}
    shipped_health = await (await shipped.client.get("/healthz")).json()
    assert shipped_health["knowledge"] == {"hash": data_fingerprint(), "source": "shipped"}


async def test_reload_swaps_in_new_data_and_refuses_an_invalid_edit(
        make_wechat, settings, exported: Path, caplog: pytest.LogCaptureFixture) -> None:
    from wxloan.bot.keys import RELOAD

    wechat = await make_wechat(dataclasses.replace(settings, knowledge_dir=exported))
    question = "微粒贷要多少支付分"
    assert "620" in (await wechat.text("u1", question)).fields["Content"]
    _edit(exported / "products.toml", "min_pay_score = 620", "min_pay_score = 640")
    assert await wechat.client.app[RELOAD]() is True
    assert "640" in (await wechat.text("u2", question)).fields["Content"]
    edited_hash = data_fingerprint(exported)
    _edit(exported / "products.toml", "min_pay_score = 640", 'min_pay_score = "x"')
    assert await wechat.client.app[RELOAD]() is False
    refused = [r for r in caplog.records if r.getMessage().startswith("knowledge reload refused")]
    assert refused and "products.toml: products[0].min_pay_score" in str(refused[0].fields)
    assert "640" in (await wechat.text("u3", question)).fields["Content"]  # the old data stays
    health = await (await wechat.client.get("/healthz")).json()
    assert health["knowledge"]["hash"] == edited_hash


async def _ask(port: int, users: int, question: str) -> list[str]:
    import aiohttp

    from tests.wechat import WeChat

    async with aiohttp.ClientSession(base_url=f"http://127.0.0.1:{port}") as http:
        wechat = WeChat(http)  # type: ignore[arg-type]
        replies = await asyncio.gather(*(wechat.text(f"r{n}", question) for n in range(users)))
    return [r.content for r in replies]


def _health(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as resp:
        result: dict[str, Any] = json.load(resp)
        return result


def test_sighup_reloads_every_worker_of_a_real_server(exported: Path, tmp_path: Path) -> None:
    from tests.wechat import TOKEN

    from .serving import Serve, child_env, free_port

    port = free_port()
    server = Serve("--workers", "2", "--port", str(port), "--db", str(tmp_path / "h.db"),
                   "--knowledge", str(exported), env=child_env(WECHAT_TOKEN=TOKEN))
    question = "微粒贷要多少支付分"
    try:
        server.wait_for("wxloan serving")
        assert all("620" in text for text in asyncio.run(_ask(port, 10, question)))
        _edit(exported / "products.toml", "min_pay_score = 620", "min_pay_score = 640")
        server.proc.send_signal(signal.SIGHUP)
        during = asyncio.run(_ask(port, 30, question))  # while the workers reload
        assert all(("620" in text) != ("640" in text) for text in during), during
        new_hash = data_fingerprint(exported)
        for _ in range(2):  # each worker logs its own reload
            assert server.wait_for("knowledge reloaded")["hash"] == new_hash
        answers = asyncio.run(_ask(port, 10, question))
        assert all("640" in text and "620" not in text for text in answers)
        assert _health(port)["knowledge"]["hash"] == new_hash

        _edit(exported / "products.toml", "min_pay_score = 640", 'min_pay_score = "x"')
        server.proc.send_signal(signal.SIGHUP)
        for _ in range(2):
            refused = server.wait_for("knowledge reload refused; the old data stays in use")
            assert any("min_pay_score" in p for p in refused["problems"])
        assert all("640" in text for text in asyncio.run(_ask(port, 10, question)))
        assert _health(port)["knowledge"]["hash"] == new_hash
        server.proc.send_signal(signal.SIGTERM)
        assert server.wait_exit() == 0, server.text()
        assert not server.logged("worker exited")  # a reload never costs a worker
    finally:
        server.close()
