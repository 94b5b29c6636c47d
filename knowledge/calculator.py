"""Repayment calculator: 等额本息 / 等额本金 schedules and daily-rate ⇄ APR.

All money is ``decimal.Decimal``, rounded half-up to 0.01 元 at each step the way a
repayment schedule is printed: each month's interest is ``round(balance × APR/12)``.
等额本息 pays the rounded annuity of the remaining balance over the remaining
months; recomputing it each month keeps cent rounding from piling up into the last
payment on long, high-rate loans, so every payment equals the first within a cent
or two (10,000 元 at 18% over 12 months: 916.80 × 11, then 916.81). 等额本金 repays
``round(amount / months)`` of principal each month. In both, the last month repays
the exact remaining balance, so principal always adds up to the amount and
``total_interest`` is the sum of the printed interest lines.

Day count: **360 days a year** by default. The article's 微粒贷 floor 7.2% is
0.02% a day × 360; its ceiling 18.25% is 0.05% × 365, a 365-day count, so pass
``days_per_year=365`` to reproduce that figure. Only 360 and 365 are accepted.

Inputs: amount > 0 (at most 1e9 元), months 1..360, APR 0..36 (percent).
Anything else raises :class:`~knowledge.errors.CalculatorError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation

from .enums import RepaymentMethod
from .errors import CalculatorError

__all__ = [
    "DAYS_PER_YEAR",
    "Instalment",
    "Numeric",
    "Schedule",
    "apr_to_daily_rate",
    "daily_rate_to_apr",
    "equal_instalment",
    "equal_principal",
]

DAYS_PER_YEAR = 360
Numeric = Decimal | int | float | str

_CENT = Decimal("0.01")
_DAILY_PLACES = Decimal("0.0001")
_MAX_AMOUNT = Decimal(10**9)
_MAX_APR = Decimal(36)
_MAX_MONTHS = 360
# Enough digits that (1 + r) ** 360 loses nothing at cent precision.
_CTX = Context(prec=50, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class Instalment:
    """One month of a schedule; ``balance`` is what remains after paying it."""

    period: int
    payment: Decimal
    principal: Decimal
    interest: Decimal
    balance: Decimal


@dataclass(frozen=True, slots=True)
class Schedule:
    """A full repayment schedule and its totals."""

    method: RepaymentMethod
    amount: Decimal
    apr_pct: Decimal
    months: int
    instalments: tuple[Instalment, ...]
    total_interest: Decimal
    total_payment: Decimal

    @property
    def first_payment(self) -> Decimal:
        """The first month's payment (the fixed payment for 等额本息)."""
        return self.instalments[0].payment

    @property
    def last_payment(self) -> Decimal:
        """The last month's payment."""
        return self.instalments[-1].payment


def equal_instalment(amount: Numeric, apr_pct: Numeric, months: int) -> Schedule:
    """等额本息: the same payment every month (the last absorbs rounding).

    >>> equal_instalment(10000, 18, 12).first_payment
    Decimal('916.80')
    """
    principal, apr, n = _validate(amount, apr_pct, months)
    rate = _CTX.divide(apr, Decimal(1200))
    return _schedule(RepaymentMethod.EQUAL_INSTALMENT, principal, apr, n, rate, Decimal(0))


def equal_principal(amount: Numeric, apr_pct: Numeric, months: int) -> Schedule:
    """等额本金: the same principal every month, interest on the falling balance."""
    principal, apr, n = _validate(amount, apr_pct, months)
    rate = _CTX.divide(apr, Decimal(1200))
    part = _cents(_CTX.divide(principal, Decimal(n)))
    return _schedule(RepaymentMethod.EQUAL_PRINCIPAL, principal, apr, n, rate, part)


def _annuity(balance: Decimal, rate: Decimal, months: int) -> Decimal:
    """The level monthly payment that repays ``balance`` over ``months``, in cents."""
    if rate == 0:
        return _cents(_CTX.divide(balance, Decimal(months)))
    growth = _CTX.power(1 + rate, months)
    return _cents(_CTX.divide(balance * rate * growth, growth - 1))


def _schedule(
    method: RepaymentMethod, amount: Decimal, apr: Decimal, n: int, rate: Decimal, part: Decimal
) -> Schedule:
    """Build the rows; ``part`` is the fixed principal of 等额本金 (unused for 等额本息)."""
    balance = amount
    rows: list[Instalment] = []
    for period in range(1, n + 1):
        interest = _cents(balance * rate)
        if period == n:
            principal = balance
        elif method is RepaymentMethod.EQUAL_INSTALMENT:
            payment = _annuity(balance, rate, n - period + 1)
            principal = min(balance, max(Decimal(0), payment - interest))
        else:
            principal = min(balance, part)
        balance -= principal
        rows.append(Instalment(period, principal + interest, principal, interest, balance))
    total_interest = sum((row.interest for row in rows), Decimal("0.00"))
    return Schedule(method, amount, apr, n, tuple(rows), total_interest, amount + total_interest)


def daily_rate_to_apr(daily_rate_pct: Numeric, days_per_year: int = DAYS_PER_YEAR) -> Decimal:
    """APR (percent, 0.01) of a daily rate (percent): 0.02 → 7.20 on a 360-day year."""
    daily = _decimal("daily_rate_pct", daily_rate_pct)
    apr = _cents(daily * _days(days_per_year))
    if not 0 <= apr <= _MAX_APR:
        raise CalculatorError(f"daily_rate_pct: gives an APR of {apr}%, outside 0..{_MAX_APR}%")
    return apr


def apr_to_daily_rate(apr_pct: Numeric, days_per_year: int = DAYS_PER_YEAR) -> Decimal:
    """Daily rate (percent, 0.0001) of an APR (percent): 7.2 → 0.0200 on a 360-day year."""
    apr = _apr(apr_pct)
    return _CTX.divide(apr, Decimal(_days(days_per_year))).quantize(_DAILY_PLACES, ROUND_HALF_UP)


def _validate(amount: Numeric, apr_pct: Numeric, months: int) -> tuple[Decimal, Decimal, int]:
    value = _cents(_decimal("amount", amount))
    if not 0 < value <= _MAX_AMOUNT:
        raise CalculatorError(
            f"amount: must be more than 0 and at most {_MAX_AMOUNT}, got {amount}"
        )
    if not isinstance(months, int) or isinstance(months, bool):
        raise CalculatorError(f"months: expected a whole number, got {months!r}")
    if not 1 <= months <= _MAX_MONTHS:
        raise CalculatorError(f"months: must be in 1..{_MAX_MONTHS}, got {months}")
    return value, _apr(apr_pct), months


def _apr(apr_pct: Numeric) -> Decimal:
    apr = _decimal("apr_pct", apr_pct)
    if not 0 <= apr <= _MAX_APR:
        raise CalculatorError(f"apr_pct: must be in 0..{_MAX_APR} (percent), got {apr_pct}")
    return apr


def _days(days_per_year: int) -> int:
    if days_per_year not in (360, 365) or isinstance(days_per_year, bool):
        raise CalculatorError(f"days_per_year: must be 360 or 365, got {days_per_year!r}")
    return days_per_year


def _decimal(name: str, value: Numeric) -> Decimal:
    if isinstance(value, bool):
        raise CalculatorError(f"{name}: expected a number, got {value!r}")
    try:
        number = Decimal(str(value).strip()) if isinstance(value, float | str) else Decimal(value)
    except (InvalidOperation, ValueError):
        raise CalculatorError(f"{name}: expected a number, got {value!r}") from None
    if not number.is_finite():
        raise CalculatorError(f"{name}: expected a finite number, got {value!r}")
    return number


def _cents(value: Decimal) -> Decimal:
    return value.quantize(_CENT, ROUND_HALF_UP)
