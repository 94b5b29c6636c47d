"""next_questions(): which unknown fields are worth asking about, most important first.

A field is asked only if some value of it would change the flow's outcome:
we try the values that sit on the article's thresholds (pay scores 579/580,
619/620, …, 3 payments a week, 6 periods, 10,000 元, …) and compare the outcome
with the field left unknown, twice: with the other unknown fields left unknown,
and with them filled by a fixed "clean" completion (no overdue, verified,
pay score 850, …), which exposes fields that matter only together with others
(the A risk grade needs several facts at once). So the questionnaire never asks
what cannot matter, and stays in step with the rules without a second copy of them.

Order = the fixed priority per flow below, most informative first, because the
dialogue answers first and asks at most one or two questions before its verdict:
eligibility asks the pay score first (it decides which of the three products fit
and every figure), then a current overdue (it closes all three), then the group (a
student fits only We2000), then the rarely-failing hard stops; rejection asks what
the message said, then when; limits asks which materials the user has, then the
on-time streak.
A decided case (current overdue; for eligibility also a failed real-name/face
check, an abnormal account or a banned purpose) has nothing more to ask.

Outcomes compared: eligibility → statuses, ranges, risk grade, channel, banned
purpose, special track; rejection → causes (code, evidence, remedies) and the
re-apply date; limits → actions and what is achieved.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Mapping
from datetime import date, timedelta

from .assessment import assess
from .diagnosis import diagnose_rejection
from .enums import Questionnaire, Identity, Overdue, Purpose, RejectionHint
from .kb import KnowledgeBase
from .limits import limit_plan
from .profile import INT_RANGES, ApplicantProfile
from .results import Question
from .signals import FIELD_SOURCES, hard_stops, open_materials

__all__ = ["PRIORITY", "next_question", "next_questions"]

#: Fields each flow may ask about, most important first.
PRIORITY: Mapping[Questionnaire, tuple[str, ...]] = {
    Questionnaire.ELIGIBILITY: (
        "pay_score",
        "overdue",
        "identity",
        "real_name_verified",
        "face_verified",
        "account_normal",
        "purpose",
        "inquiries_3m",
        "rejected_before",
        "payments_per_week",
        "pay_history_months",
    ),
    Questionnaire.REJECTION: (
        "rejection_hint",
        "rejected_on",
        "overdue",
        "inquiries_3m",
        "pay_score",
        "payments_per_week",
        "pay_history_months",
        "materials",
        "identity",
    ),
    Questionnaire.LIMITS: (
        "materials",
        "ontime_periods",
        "overdue",
        "identity",
        "lingqiantong_balance",
    ),
}

#: Date the rejection-flow probe treats as "today"; only differences matter.
_PROBE_TODAY = date(2000, 1, 1)

Outcome = Callable[[ApplicantProfile, KnowledgeBase], Hashable]


def next_questions(
    profile: ApplicantProfile, kb: KnowledgeBase, flow: Questionnaire | str
) -> tuple[Question, ...]:
    """Unknown fields whose answer could change the outcome of ``flow``, in priority order.

    :param flow: "eligibility", "rejection" or "limits"
    :raises ValueError: on an unknown flow
    """
    return tuple(_questions(profile, kb, Questionnaire(flow), frozenset()))


def next_question(
    profile: ApplicantProfile,
    kb: KnowledgeBase,
    flow: Questionnaire | str,
    exclude: frozenset[str] = frozenset(),
) -> Question | None:
    """The first of :func:`next_questions` not in ``exclude``, or None.

    The questionnaire asks one question at a time, so this stops at the first field that
    matters instead of probing every unknown field (several times cheaper per message).

    :param exclude: fields not to ask (the user skipped them)
    """
    return next(_questions(profile, kb, Questionnaire(flow), exclude), None)


def _questions(
    profile: ApplicantProfile, kb: KnowledgeBase, flow: Questionnaire, exclude: frozenset[str]
) -> Iterator[Question]:
    """Fields worth asking, lazily, in priority order."""
    if profile.overdue is Overdue.CURRENT:
        return
    if flow is Questionnaire.ELIGIBILITY and hard_stops(profile, kb):
        return
    outcome = _OUTCOMES[flow]
    unknown = [f for f in PRIORITY[flow] if getattr(profile, f) is None]
    completion = _completion(flow, kb)
    for field in unknown:
        if field in exclude:
            continue
        filled = {f: completion[f] for f in unknown if f != field and f in completion}
        if _matters(field, profile, kb, outcome) or (
            filled and _matters(field, profile.with_values(filled), kb, outcome)
        ):
            yield Question(field, FIELD_SOURCES[field])


def _matters(field: str, profile: ApplicantProfile, kb: KnowledgeBase, outcome: Outcome) -> bool:
    """Whether some threshold value of ``field`` changes the outcome for this profile."""
    baseline = outcome(profile, kb)
    return any(
        outcome(profile.with_values({field: value}), kb) != baseline
        for value in _candidates(field, kb, profile)
    )


def _completion(flow: Questionnaire, kb: KnowledgeBase) -> dict[str, object]:
    """A clean, favourable value for every field the flow asks about."""
    rules = kb.rules
    clean: dict[str, object] = {
        "overdue": Overdue.NONE,
        "real_name_verified": True,
        "face_verified": True,
        "account_normal": True,
        "purpose": Purpose.CONSUMPTION,
        "pay_score": INT_RANGES["pay_score"][1],
        "identity": Identity.EMPLOYEE,
        "inquiries_3m": 0,
        "rejected_before": False,
        "payments_per_week": rules.min_payments_per_week.value,
        "pay_history_months": rules.pay_history_months.value,
        "materials": frozenset(),
        "ontime_periods": 0,
        "lingqiantong_balance": 0,
    }
    if flow is Questionnaire.REJECTION:
        clean["rejection_hint"] = RejectionHint.SCORE_INSUFFICIENT
        del clean["identity"]
    if flow is Questionnaire.LIMITS:
        del clean["identity"]
    return clean


def _eligibility(profile: ApplicantProfile, kb: KnowledgeBase) -> Hashable:
    a = assess(profile, kb, _PROBE_TODAY)
    track = None if a.special_track is None else a.special_track.identity
    verdicts = tuple((v.status, v.limit, v.apr) for v in a.verdicts)
    return (verdicts, a.risk.grade, a.channel.channel, a.banned_purpose, track)


def _rejection(profile: ApplicantProfile, kb: KnowledgeBase) -> Hashable:
    d = diagnose_rejection(profile, kb, _PROBE_TODAY)
    causes = tuple(
        (c.code, c.evidence, tuple((r.code, r.params.get("materials")) for r in c.remedies))
        for c in d.causes
    )
    return (causes, d.reapply_on)


def _limits(profile: ApplicantProfile, kb: KnowledgeBase) -> Hashable:
    plan = limit_plan(profile, kb)
    actions = tuple((a.code, a.params.get("material")) for a in plan.actions)
    achieved = tuple((r.code, r.params.get("material")) for r in plan.achieved)
    return (actions, achieved)


_OUTCOMES: dict[Questionnaire, Outcome] = {
    Questionnaire.ELIGIBILITY: _eligibility,
    Questionnaire.REJECTION: _rejection,
    Questionnaire.LIMITS: _limits,
}


def _candidates(field: str, kb: KnowledgeBase, profile: ApplicantProfile) -> tuple[object, ...]:
    """Values on either side of every threshold the rules use for this field.

    Materials: only the ones still open (``signals.open_materials``: not said to be
    lacking, and 企业认证 only where it is offered), so no material known held or lacking,
    and none the plan would never suggest, makes the materials question worth asking.
    """
    rules = kb.rules
    if field in ("real_name_verified", "face_verified", "account_normal", "rejected_before"):
        return (True, False)
    enums: dict[str, tuple[object, ...]] = {
        "overdue": tuple(Overdue),
        "identity": tuple(Identity),
        "purpose": tuple(Purpose),
        "rejection_hint": tuple(RejectionHint),
    }
    if field in enums:
        return enums[field]
    if field == "materials":
        possible = open_materials(profile, kb)
        return (frozenset(), frozenset(possible), *(frozenset({m}) for m in possible))
    if field == "rejected_on":
        return (_PROBE_TODAY - timedelta(days=10 * rules.cooling_days.value),)
    thresholds: dict[str, tuple[int, ...]] = {
        "pay_score": (
            *(p.min_pay_score for p in kb.products),
            *(t.min_pay_score for t in kb.tiers),
            rules.score_boost.pay_score,
        ),
        "inquiries_3m": (rules.max_inquiries_3m.value + 1,),
        "payments_per_week": (rules.min_payments_per_week.value,),
        "pay_history_months": (rules.pay_history_months.value,),
        "ontime_periods": (rules.ontime_periods.value,),
        "lingqiantong_balance": (rules.lingqiantong_threshold_yuan.value + 1,),
    }
    lo, hi = INT_RANGES[field]
    values = {lo, hi}
    for threshold in thresholds[field]:
        values.update(v for v in (threshold - 1, threshold) if lo <= v <= hi)
    return tuple(sorted(values))
