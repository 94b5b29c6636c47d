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
    # the rules alone: the lexicon file is what is tested, not the intent model
    assert Understander(path, model=False).understand("嘿嘿嘿").intent == "greeting"
    assert Understander(model=False).understand("嘿嘿嘿").intent is None


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "[intents.thanks]",
            "[intents.thank_you]",
            "lexicon.toml: intents.thank_you: unknown intent 'thank_you'",
        ),
        (
            "[slots.amount]",
            "[slots.loan_amount]",
            "lexicon.toml: slots.loan_amount: unknown slot 'loan_amount'",
        ),
        (
            "[scam.fake_flow]",
            "[scam.fake_flows]",
            "lexicon.toml: scam.fake_flows: unknown pattern 'fake_flows'",
        ),
        (
            "max_gap = 2\n",
            "max_gap = 2\nmax_gaps = 3\n",
            "lexicon.toml: negation.max_gaps: unexpected field",
        ),
        ("schema = 1", "schema = 2", "lexicon.toml: schema: must be 1, got 2"),
        (
            'pick = "upper"',
            'pick = "top"',
            "lexicon.toml: slots.inquiries_3m.pick: expected one of lower, mid, upper, got 'top'",
        ),
        (
            'include_values = ["purpose:house"',
            'include_values = ["purpose:castle"',
            (
                "lexicon.toml: intents.banned_purpose.include_values[0]: "
                "unknown slot value reference 'purpose:castle'"
            ),
        ),
        (
            "max_text = 300",
            'max_text = "300"',
            "lexicon.toml: fuzzy.max_text: expected integer, got str",
        ),
        (
            "weight = 2.5",
            'weight = "2.5"',
            "lexicon.toml: intents.special_groups.combos[0].weight: expected number, got str",
        ),
        (
            'clause_breaks = [","',
            "clause_breaks = [1",
            "lexicon.toml: normalize.clause_breaks[0]: expected string, got int",
        ),
        (
            'clause_breaks = [","',
            'clause_breaks = [""',
            "lexicon.toml: normalize.clause_breaks[0]: must not be empty",
        ),
        (
            'apr_max = "1"',
            "apr_max = 1.0",
            "lexicon.toml: rates.apr_max: expected integer or decimal string, got float",
        ),
        (
            'apr_max = "1"',
            'apr_max = "one"',
            "lexicon.toml: rates.apr_max: expected integer or decimal string, got 'one'",
        ),
        (
            "ji_range = [2, 9]",
            "ji_range = [2, 9, 10]",
            "lexicon.toml: numbers.ji_range: expected [low, high] (two integers), got [2, 9, 10]",
        ),
        (
            'some = "几"',
            'some = "几个"',
            "lexicon.toml: numbers.some: expected a single character, got '几个'",
        ),
        (
            'char_map = { "開"',
            'char_map = 1\nchar_maps = { "開"',
            "lexicon.toml: normalize.char_map: expected table, got int",
        ),
    ],
)
def test_malformed_lexicon_is_rejected(
    tmp_path: Path, shipped_text: str, old: str, new: str, message: str
) -> None:
    """Messages name the file and the field, in the shape of every data file's."""
    assert old in shipped_text
    path = tmp_path / "lexicon.toml"
    path.write_text(shipped_text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(LexiconError) as caught:
        load_lexicon(path)
    assert str(caught.value) == message


def test_missing_or_broken_file_is_a_lexicon_error(tmp_path: Path) -> None:
    with pytest.raises(LexiconError):
        load_lexicon(tmp_path / "nope.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("schema = [", encoding="utf-8")
    with pytest.raises(LexiconError, match=r"^broken\.toml: invalid TOML: "):
        load_lexicon(broken)
