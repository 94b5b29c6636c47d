"""Every code the core can emit is documented in CODES, with exactly its params."""

from __future__ import annotations

import ast
from datetime import date
from pathlib import Path

from hypothesis import given, settings

from wxloan.knowledge import (
    CODES,
    ApplicantProfile,
    Identity,
    KnowledgeBase,
    Material,
    Overdue,
    Purpose,
    RejectionHint,
    assess,
    diagnose_rejection,
    limit_plan,
)
from wxloan.knowledge.results import Assessment, Diagnosis, LimitPlan

from .strategies import profiles

PACKAGE = Path(__file__).resolve().parents[2] / "knowledge"
EMITTERS = {"Reason", "Effect", "Remedy", "Cause", "Action"}
TODAY = date(2025, 3, 1)


def _static_codes() -> dict[str, str]:
    """Code literal → location, for every Reason/Effect/Remedy/Cause/Action(...) call."""
    found: dict[str, str] = {}
    for path in sorted(PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in EMITTERS:
                first = node.args[0] if node.args else None
                assert isinstance(first, ast.Constant) and isinstance(first.value, str), (
                    f"{path.name}:{node.lineno}: codes must be string literals"
                )
                found[first.value] = f"{path.name}:{node.lineno}"
    return found


def test_every_code_in_the_source_is_documented() -> None:
    codes = _static_codes()
    assert len(codes) > 40, "the scan found too little"
    undocumented = {code: where for code, where in codes.items() if code not in CODES}
    assert not undocumented


def test_every_documented_code_is_emitted_somewhere(kb: KnowledgeBase) -> None:
    effects = {g.effect for g in kb.grades}
    assert effects <= CODES.keys()
    assert set(CODES) - set(_static_codes()) == effects


def _emitted(item: Assessment | Diagnosis | LimitPlan) -> list[tuple[str, frozenset[str]]]:
    out: list[tuple[str, frozenset[str]]] = []
    if isinstance(item, Assessment):
        reasons = [r for v in item.verdicts for r in v.reasons + v.pricing]
        reasons += [*item.risk.reasons, *item.channel.reasons, *item.factors, *item.reminders]
        if item.special_track is not None:
            reasons += item.special_track.reasons
        out += [(r.code, frozenset(r.params)) for r in reasons]
        if item.risk.effect is not None:
            out.append((item.risk.effect, frozenset()))
    elif isinstance(item, Diagnosis):
        for cause in item.causes:
            out.append((cause.code, frozenset(cause.params)))
            for remedy in cause.remedies:
                out.append((remedy.code, frozenset(remedy.params)))
                if remedy.effect is not None:
                    out.append((remedy.effect.code, frozenset(remedy.effect.params)))
        out += [(r.code, frozenset(r.params)) for r in item.reapply]
    else:
        out += [(a.code, frozenset(a.params)) for a in item.actions]
        reasons = item.achieved + item.outlook + item.not_suggested
        out += [(r.code, frozenset(r.params)) for r in reasons]
    return out


def _check(emitted: list[tuple[str, frozenset[str]]]) -> None:
    for code, params in emitted:
        assert code in CODES, code
        assert params == frozenset(CODES[code].params), (code, params)


@settings(max_examples=200)
@given(profiles())
def test_emitted_codes_have_exactly_the_documented_params(
    kb: KnowledgeBase, profile: ApplicantProfile
) -> None:
    _check(_emitted(assess(profile, kb, TODAY)))
    _check(_emitted(diagnose_rejection(profile, kb, TODAY)))
    _check(_emitted(limit_plan(profile, kb)))


CORPUS = [
    ApplicantProfile(),
    ApplicantProfile(overdue=Overdue.CURRENT),
    ApplicantProfile(
        real_name_verified=False, face_verified=False, account_normal=False, purpose=Purpose.HOUSE
    ),
    ApplicantProfile(
        real_name_verified=True,
        face_verified=True,
        account_normal=True,
        overdue=Overdue.NONE,
        purpose=Purpose.CONSUMPTION,
        pay_score=760,
        identity=Identity.NEW_USER,
        inquiries_3m=0,
        payments_per_week=5,
        pay_history_months=12,
        materials=frozenset(Material),
        ontime_periods=8,
        lingqiantong_balance=20000,
    ),
    ApplicantProfile(
        real_name_verified=True,
        face_verified=True,
        pay_score=600,
        identity=Identity.STUDENT,
        overdue=Overdue.PAST,
        inquiries_3m=9,
        payments_per_week=1,
        pay_history_months=2,
        rejected_on=date(2025, 2, 1),
        rejection_hint=RejectionHint.SCORE_INSUFFICIENT,
        ontime_periods=2,
        lingqiantong_balance=100,
    ),
    ApplicantProfile(
        real_name_verified=True, face_verified=True, pay_score=500, identity=Identity.BUSINESS_OWNER
    ),
    ApplicantProfile(pay_score=700, rejected_before=True, rejection_hint=RejectionHint.OTHER),
    ApplicantProfile(
        materials=frozenset({Material.SOCIAL_SECURITY}),
        materials_lacking=frozenset({Material.PROPERTY}),
    ),
    ApplicantProfile(
        pay_score=720, real_name_verified=True, face_verified=True, rejected_before=False
    ),
]


def test_corpus_covers_every_documented_code(kb: KnowledgeBase) -> None:
    """Documented codes are all reachable (no dead docs), checked with real profiles."""
    seen: set[str] = set()
    for profile in CORPUS:
        for item in (
            assess(profile, kb, TODAY),
            diagnose_rejection(profile, kb, TODAY),
            limit_plan(profile, kb),
        ):
            emitted = _emitted(item)
            _check(emitted)
            seen |= {code for code, _ in emitted}
    assert set(CODES) - seen == set()


def test_code_specs_are_documented() -> None:
    for code, spec in CODES.items():
        assert spec.meaning and spec.used_in, code
        assert all(description for description in spec.params.values()), code
