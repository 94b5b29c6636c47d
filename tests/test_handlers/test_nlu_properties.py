"""Properties of handlers.nlu that must hold for any input, however messy."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wxloan.handlers.nlu import (
    INTENT_IDS,
    SCAM_PATTERN_IDS,
    SLOT_KINDS,
    SLOT_NAMES,
    Understander,
    Understanding,
    default_understander,
    understand,
)

NLU = Understander()

# Characters that reach the deeper code paths: numerals, units, negators,
# anchors, punctuation (full and half width), digits, emoji.
_DOMAIN = list(
    "零一二两三四五六七八九十百千万几多半点左右分次期个月年天周前内查征信支付付款零钱通"
    "逾期没有不是无社保房学生借贷利率息被拒额度提先交费才能放款验证码给客服加我好友如果"
    "%.,，。？！、~ 0123456789wk😀[]捂脸"
)
_TEXT = st.text(alphabet=st.sampled_from(_DOMAIN), max_size=500) | st.text(max_size=500)
_EXPECTING = st.sampled_from([None, "not_a_field", *SLOT_NAMES])

_TYPES: dict[str, type] = {
    "score": int,
    "count": int,
    "frequency": int,
    "duration": int,
    "periods": int,
    "money": int,
    "term": int,
    "days_ago": int,
    "rate": Decimal,
    "category": str,
    "set": list,
    "bool": bool,
}


def _assert_well_formed(u: Understanding) -> None:
    assert set(u.intents) <= set(INTENT_IDS)
    assert len(set(u.intents)) == len(u.intents)
    assert set(u.scam_patterns) <= set(SCAM_PATTERN_IDS)
    if u.scam_patterns:
        assert u.intents[0] == "scam"
    assert set(u.slots) <= set(SLOT_NAMES)
    for name, value in u.slots.items():
        assert type(value) is _TYPES[SLOT_KINDS[name]], (name, value)
    if "pay_score" in u.slots:
        assert 300 <= u.slots["pay_score"] <= 850  # type: ignore[operator]
    assert u.negated <= set(SLOT_NAMES)
    assert set(u.ranges) <= set(u.slots)
    for low, high in u.ranges.values():
        assert low <= high
    assert set(u.approximate) <= set(u.slots)
    assert not set(u.out_of_range) & set(u.slots)
    assert u.choice is None or 1 <= u.choice <= 9
    if u.choice is not None:
        assert u.intents[0] in ("menu_choice", "scam")


@settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(text=_TEXT, expecting=_EXPECTING)
def test_understand_never_raises_and_is_well_formed(text: str, expecting: str | None) -> None:
    _assert_well_formed(NLU.understand(text, expecting))


@settings(max_examples=100, deadline=None, database=None)
@given(text=_TEXT)
def test_understand_is_deterministic(text: str) -> None:
    assert NLU.understand(text) == NLU.understand(text)


@pytest.mark.parametrize(
    "text",
    ["", " ", "\n\t", "😀😀😀", "[微笑]", "。。。", "a" * 3000, "一" * 600, "9" * 600, "\x00\x07"],
)
def test_degenerate_input(text: str) -> None:
    _assert_well_formed(NLU.understand(text))


def test_result_is_immutable() -> None:
    u = NLU.understand("支付分六百八，没有逾期")
    with pytest.raises(dataclasses.FrozenInstanceError):
        u.intents = ()  # type: ignore[misc]
    with pytest.raises(TypeError):
        u.slots["pay_score"] = 1  # type: ignore[index]


def test_module_function_reuses_one_default_instance() -> None:
    assert default_understander() is default_understander()
    assert understand("支付分六百八").slots["pay_score"] == 680


def test_empty_message_means_nothing() -> None:
    assert NLU.understand("   ") == Understanding()
    assert Understanding().intent is None


def test_public_surface_is_explicit_and_sorted() -> None:
    import wxloan.handlers.nlu as package

    def style(name: str) -> tuple[int, str]:  # isort order: CONSTANTS, Classes, functions
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    assert package.__all__ == sorted(package.__all__, key=style)
    assert all(hasattr(package, name) for name in package.__all__)
