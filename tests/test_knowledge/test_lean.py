"""The answer-first lean: a verdict per product from whatever is known so far."""

from __future__ import annotations

import datetime as dt

import pytest

from wxloan.knowledge import (
    ApplicantProfile, Identity, KnowledgeBase, Lean, Overdue, Purpose, assess,
)

TODAY = dt.date(2026, 12, 1)

CASES = [
    # (profile, {product: lean}, useful)
    (ApplicantProfile(), {"weilidai": "depends", "we2000": "depends", "partner_bank": "depends"}, False),
    (ApplicantProfile(overdue=Overdue.NONE), {"weilidai": "depends", "we2000": "depends"}, False),
    (ApplicantProfile(pay_score=590), {"weilidai": "no", "we2000": "likely", "partner_bank": "no"}, True),
    (ApplicantProfile(pay_score=579), {"weilidai": "no", "we2000": "no", "partner_bank": "no"}, True),
    (ApplicantProfile(pay_score=620), {"weilidai": "likely", "we2000": "likely", "partner_bank": "no"}, True),
    (ApplicantProfile(pay_score=700), {"partner_bank": "likely"}, True),
    (ApplicantProfile(pay_score=760, identity=Identity.STUDENT),
     {"weilidai": "no", "we2000": "likely", "partner_bank": "no"}, True),
    (ApplicantProfile(overdue=Overdue.CURRENT),
     {"weilidai": "no", "we2000": "no", "partner_bank": "no"}, True),
]


@pytest.mark.parametrize(("profile", "leans", "useful"), CASES)
def test_lean_per_product(kb: KnowledgeBase, profile: ApplicantProfile,
                          leans: dict[str, str], useful: bool) -> None:
    a = assess(profile, kb, TODAY)
    for product, lean in leans.items():
        assert a.verdict(product).lean is Lean(lean), product
    assert a.useful is useful


def test_likely_names_what_is_still_open(kb: KnowledgeBase) -> None:
    verdict = assess(ApplicantProfile(pay_score=700), kb, TODAY).verdict("partner_bank")
    assert verdict.lean is Lean.LIKELY
    assert "overdue" in verdict.pending and "pay_score" not in verdict.pending


def test_a_fully_clean_profile_leans_yes(kb: KnowledgeBase) -> None:
    clean = ApplicantProfile(
        pay_score=720, overdue=Overdue.NONE, real_name_verified=True, face_verified=True,
        account_normal=True, identity=Identity.EMPLOYEE,
        purpose=Purpose.CONSUMPTION,
    )
    a = assess(clean, kb, TODAY)
    assert {v.product: v.lean for v in a.verdicts} == {
        "weilidai": Lean.YES, "we2000": Lean.YES, "partner_bank": Lean.YES}
    assert a.pending == ()


def test_no_never_has_pending_fields(kb: KnowledgeBase) -> None:
    for score in range(300, 851, 10):
        for v in assess(ApplicantProfile(pay_score=score), kb, TODAY).verdicts:
            if v.lean is Lean.NO:
                assert v.pending == ()
