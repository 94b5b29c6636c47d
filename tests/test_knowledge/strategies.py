"""Hypothesis strategies: profiles where every field may be unknown."""

from __future__ import annotations

from datetime import date

from hypothesis import strategies as st

from wxloan.knowledge import ApplicantProfile, Identity, Material, Overdue, Purpose, RejectionHint
from wxloan.knowledge.profile import INT_RANGES


def _maybe(strategy: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.none() | strategy


def _int(field: str, cap: int | None = None) -> st.SearchStrategy[object]:
    lo, hi = INT_RANGES[field]
    return _maybe(st.integers(lo, hi if cap is None else min(hi, cap)))


@st.composite
def profiles(draw: st.DrawFn, /, **fixed: object) -> ApplicantProfile:
    """A profile with each field unknown or any valid value (``fixed`` pins some)."""
    values = {
        "real_name_verified": draw(_maybe(st.booleans())),
        "face_verified": draw(_maybe(st.booleans())),
        "account_normal": draw(_maybe(st.booleans())),
        "pay_score": draw(_int("pay_score")),
        "overdue": draw(_maybe(st.sampled_from(Overdue))),
        "inquiries_3m": draw(_int("inquiries_3m", 20)),
        "payments_per_week": draw(_int("payments_per_week", 30)),
        "pay_history_months": draw(_int("pay_history_months", 60)),
        "identity": draw(_maybe(st.sampled_from(Identity))),
        "materials": draw(_maybe(st.frozensets(st.sampled_from(Material)))),
        "lingqiantong_balance": draw(_int("lingqiantong_balance", 50000)),
        "ontime_periods": draw(_int("ontime_periods", 24)),
        "purpose": draw(_maybe(st.sampled_from(Purpose))),
        "rejected_before": draw(_maybe(st.booleans())),
        "rejected_on": draw(_maybe(st.dates(date(2020, 1, 1), date(2030, 12, 31)))),
        "rejection_hint": draw(_maybe(st.sampled_from(RejectionHint))),
    }
    values.update(fixed)
    return ApplicantProfile().with_values(values)


today_dates = st.dates(date(2020, 1, 1), date(2030, 12, 31))
