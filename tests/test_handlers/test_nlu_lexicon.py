"""The lexicon is data: it loads, validates, and drives behaviour."""

from __future__ import annotations

from pathlib import Path

import pytest

from wxloan.handlers.nlu import INTENT_IDS, SLOT_NAMES, LexiconError, Understander, load_lexicon

SHIPPED = Path(__file__).resolve().parents[2] / "knowledge" / "data" / "lexicon.toml"


@pytest.fixture
def shipped_text() -> str:
    return SHIPPED.read_text(encoding="utf-8")


def test_shipped_lexicon_loads_and_knows_every_id() -> None:
    lex = load_lexicon()
    assert {i.id for i in lex.intents} == set(INTENT_IDS) - {"menu_choice"}
    assert set(lex.slots) == set(SLOT_NAMES)
    assert all(i.keywords or i.strong or i.exact or i.combos for i in lex.intents)


def test_explicit_path_is_used(tmp_path: Path, shipped_text: str) -> None:
    path = tmp_path / "lexicon.toml"
    path.write_text(
        shipped_text.replace('strong = ["你好", ', 'strong = ["嘿嘿嘿", "你好", '), encoding="utf-8"
    )
    assert Understander(path).understand("嘿嘿嘿").intent == "greeting"
    assert Understander().understand("嘿嘿嘿").intent is None


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("[intents.thanks]", "[intents.thank_you]", "unknown intent"),
        ("[slots.amount]", "[slots.loan_amount]", "unknown slot"),
        ("[scam.fake_flow]", "[scam.fake_flows]", "unknown pattern"),
        ("max_gap = 2\n", "max_gap = 2\nmax_gaps = 3\n", "unknown keys"),
        ("schema = 1", "schema = 2", "schema"),
        ('pick = "upper"', 'pick = "top"', "pick"),
        ('include_values = ["purpose:house"', 'include_values = ["purpose:castle"', "reference"),
        ("max_text = 300", 'max_text = "300"', "integer"),
    ],
)
def test_malformed_lexicon_is_rejected(
    tmp_path: Path, shipped_text: str, old: str, new: str, message: str
) -> None:
    assert old in shipped_text
    path = tmp_path / "lexicon.toml"
    path.write_text(shipped_text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(LexiconError, match=message):
        load_lexicon(path)


def test_missing_or_broken_file_is_a_lexicon_error(tmp_path: Path) -> None:
    with pytest.raises(LexiconError):
        load_lexicon(tmp_path / "nope.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("schema = [", encoding="utf-8")
    with pytest.raises(LexiconError):
        load_lexicon(broken)
