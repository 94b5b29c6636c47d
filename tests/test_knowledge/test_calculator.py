"""Repayment calculator against hand-computed figures, invariants and bad inputs."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wxloan.knowledge import (
    CalculatorError,
    KnowledgeError,
    RepaymentMethod,
    apr_to_daily_rate,
    daily_rate_to_apr,
    equal_instalment,
    equal_principal,
)

D = Decimal


def test_equal_instalment_10000_at_18_over_12() -> None:
    schedule = equal_instalment(10000, 18, 12)
    assert schedule.method is RepaymentMethod.EQUAL_INSTALMENT
    # annuity 10000 × 0.015 × 1.015^12 / (1.015^12 − 1) = 916.7999… → 916.80
    assert [row.payment for row in schedule.instalments[:11]] == [D("916.80")] * 11
    first = schedule.instalments[0]
    assert (first.interest, first.principal, first.balance) == (
        D("150.00"),
        D("766.80"),
        D("9233.20"),
    )
    second = schedule.instalments[1]
    assert second.interest == D("138.50")  # 9233.20 × 0.015 = 138.498
    # the last month repays the remaining 903.26 plus 13.55 interest
    last = schedule.instalments[-1]
    assert (last.principal, last.interest, last.payment) == (D("903.26"), D("13.55"), D("916.81"))
    assert last.balance == D("0.00")
    # 150.00 + 138.50 + 126.82 + 114.97 + 102.95 + 90.74 + 78.35 + 65.77 + 53.01 + 40.05
    # + 26.90 + 13.55
    assert schedule.total_interest == D("1001.61")
    assert schedule.total_payment == D("11001.61")


def test_equal_principal_10000_at_18_over_12() -> None:
    schedule = equal_principal(10000, 18, 12)
    assert schedule.first_payment == D("983.33")  # 833.33 + 150.00
    # last: principal 10000 − 11 × 833.33 = 833.37, interest 833.37 × 1.5% = 12.50
    last = schedule.instalments[-1]
    assert (last.principal, last.interest, last.payment) == (D("833.37"), D("12.50"), D("845.87"))
    # 10000 × 1.5% × (12 + 1) / 2 = 975.00
    assert schedule.total_interest == D("975.00")
    assert schedule.total_payment == D("10975.00")


def test_zero_apr_splits_evenly() -> None:
    for schedule in (equal_instalment(1200, 0, 12), equal_principal(1200, 0, 12)):
        assert {row.payment for row in schedule.instalments} == {D("100.00")}
        assert schedule.total_interest == D("0.00")


def test_single_month() -> None:
    schedule = equal_instalment("5000", "12", 1)
    assert schedule.first_payment == D("5050.00")
    assert equal_principal(5000, 12, 1).first_payment == D("5050.00")


def test_accepts_decimal_str_float_int() -> None:
    expected = equal_instalment(D("10000"), D("18"), 12)
    assert equal_instalment("10000", "18.0", 12) == equal_instalment(10000.0, 18.0, 12)
    assert equal_instalment(10000, 18, 12).instalments == expected.instalments


@pytest.mark.parametrize(
    ("daily", "days", "apr"),
    [
        ("0.02", 360, D("7.20")),  # 微粒贷's floor, as the article's figures imply
        ("0.05", 365, D("18.25")),  # 微粒贷's ceiling uses a 365-day year
        ("0.05", 360, D("18.00")),
        ("0", 360, D("0.00")),
    ],
)
def test_daily_rate_to_apr(daily: str, days: int, apr: Decimal) -> None:
    assert daily_rate_to_apr(daily, days) == apr


@pytest.mark.parametrize(
    ("apr", "days", "daily"),
    [
        ("7.2", 360, D("0.0200")),
        ("18.25", 365, D("0.0500")),
        (24, 360, D("0.0667")),
        (18, 365, D("0.0493")),
    ],
)
def test_apr_to_daily_rate(apr: str, days: int, daily: Decimal) -> None:
    assert apr_to_daily_rate(apr, days) == daily


def test_default_day_count_is_360() -> None:
    assert daily_rate_to_apr("0.02") == D("7.20")
    assert apr_to_daily_rate("7.2") == D("0.0200")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: equal_instalment(0, 18, 12), "amount: must be more than 0"),
        (lambda: equal_instalment(-100, 18, 12), "amount: must be more than 0"),
        (lambda: equal_instalment("0.001", 18, 12), "amount: must be more than 0"),
        (lambda: equal_instalment(10**10, 18, 12), "amount: must be more than 0 and at most"),
        (lambda: equal_instalment("abc", 18, 12), "amount: expected a number"),
        (lambda: equal_instalment("NaN", 18, 12), "amount: expected a finite number"),
        (lambda: equal_instalment(True, 18, 12), "amount: expected a number"),
        (lambda: equal_instalment(1000, 18, 0), "months: must be in 1..360"),
        (lambda: equal_instalment(1000, 18, 361), "months: must be in 1..360"),
        (lambda: equal_principal(1000, 18, 1.5), "months: expected a whole number"),  # type: ignore[arg-type]
        (lambda: equal_principal(1000, 18, True), "months: expected a whole number"),
        (lambda: equal_principal(1000, -1, 12), "apr_pct: must be in 0..36"),
        (lambda: equal_principal(1000, "36.01", 12), "apr_pct: must be in 0..36"),
        (lambda: apr_to_daily_rate(40), "apr_pct: must be in 0..36"),
        (lambda: apr_to_daily_rate(18, 366), "days_per_year: must be 360 or 365"),
        (lambda: daily_rate_to_apr("0.2"), "daily_rate_pct: gives an APR of 72.00%"),
        (lambda: daily_rate_to_apr("-0.01"), "daily_rate_pct: gives an APR of -3.60%"),
    ],
)
def test_invalid_inputs(call: object, message: str) -> None:
    with pytest.raises(CalculatorError) as caught:
        call()  # type: ignore[operator]
    assert message in str(caught.value)
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, KnowledgeError)


def test_limits_are_inclusive() -> None:
    assert equal_instalment(1000, 36, 360).months == 360
    assert equal_principal("0.01", 0, 1).total_payment == D("0.01")


amounts = st.decimals(min_value=D("0.01"), max_value=D("1000000"), places=2)
aprs = st.decimals(min_value=D(0), max_value=D(36), places=2)
terms = st.integers(1, 360)


@given(amounts, aprs, terms, st.sampled_from([equal_instalment, equal_principal]))
def test_schedule_invariants(amount: Decimal, apr: Decimal, months: int, method: object) -> None:
    schedule = method(amount, apr, months)  # type: ignore[operator]
    rows = schedule.instalments
    assert len(rows) == months
    assert sum(row.principal for row in rows) == amount
    assert rows[-1].balance == 0
    assert all(row.balance >= 0 and row.principal >= 0 and row.interest >= 0 for row in rows)
    assert schedule.total_interest == sum(row.interest for row in rows)
    assert schedule.total_payment == amount + schedule.total_interest
    for row in rows:
        assert row.payment == row.principal + row.interest
        assert row.payment.as_tuple().exponent == -2


@given(amounts, aprs, terms)
def test_equal_instalment_payments_stay_level(amount: Decimal, apr: Decimal, months: int) -> None:
    """Cent rounding never piles up into the last payment, even over 360 months at 36%."""
    rows = equal_instalment(amount, apr, months).instalments
    first = rows[0].payment
    assert all(abs(row.payment - first) <= D("0.02") for row in rows[:-1])
    if months > 1 and amount >= 100:
        assert abs(rows[-1].payment - first) <= D("0.02")


def test_long_high_rate_loan_stays_level() -> None:
    rows = equal_instalment(10000, 36, 360).instalments
    assert {row.payment for row in rows} <= {D("300.00"), D("300.01")}


@given(amounts.filter(lambda a: a >= 1000), aprs.filter(lambda r: r >= 1), st.integers(2, 120))
def test_equal_principal_costs_less_interest(amount: Decimal, apr: Decimal, months: int) -> None:
    assert (
        equal_principal(amount, apr, months).total_interest
        <= equal_instalment(amount, apr, months).total_interest
    )
