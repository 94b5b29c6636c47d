"""The operator's knowledge folder: export, check, serve from it, and /healthz naming it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

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
