"""Stable ids of the entries and table keys that the rules cite by name.

The loader checks at start-up that every id in :data:`REQUIRED_ENTRY_IDS` exists,
so renaming an entry in the data fails loudly instead of leaving a conclusion that
cites nothing.
"""

from __future__ import annotations

__all__ = [
    "ACTIVITY",
    "CHANNELS_OVERVIEW",
    "CHANNEL_KEYS",
    "CHANNEL_MINI_PROGRAM",
    "CHANNEL_SCENE",
    "CHANNEL_WALLET",
    "CLOSING_REPAYMENT_CAPACITY",
    "COOLING",
    "CREDIT_TASKS",
    "FACE",
    "FACTOR_ASSETS",
    "FACTOR_CREDIT_REPORT",
    "INQUIRY_WAIT",
    "LINGQIANTONG",
    "MULTI_LENDER",
    "NEW_USER_PROFILE",
    "ONTIME",
    "PAY_HISTORY",
    "PRODUCTS_OVERVIEW",
    "PURPOSE",
    "REAL_NAME_ACCOUNT",
    "REJECT_PAY_SCORE",
    "REQUIRED_ENTRY_IDS",
    "RISK_GRADING",
    "SCORE_BOOST",
    "SPECIAL_CHANNEL",
    "SPECIAL_OVERVIEW",
    "SUPPLEMENT",
]

REAL_NAME_ACCOUNT = "admission.real_name_account"
FACE = "admission.identity"
PRODUCTS_OVERVIEW = "products.overview"
CHANNELS_OVERVIEW = "channels.overview"
FACTOR_CREDIT_REPORT = "factor.credit_report"
FACTOR_ASSETS = "factor.assets"
MULTI_LENDER = "risk.multi_lender"
RISK_GRADING = "risk.grading"
SPECIAL_OVERVIEW = "special.overview"
SPECIAL_CHANNEL = "special.channel"
NEW_USER_PROFILE = "special.new_user"
REJECT_PAY_SCORE = "reject.pay_score"
CREDIT_TASKS = "after.credit_tasks"
CLOSING_REPAYMENT_CAPACITY = "closing.repayment_capacity"
SCORE_BOOST = "admission.score_boost"
PAY_HISTORY = "admission.pay_behaviour"
PURPOSE = "risk.purpose"
INQUIRY_WAIT = "reject.inquiries"
ACTIVITY = "reject.activity"
COOLING = "effect.cooling"
SUPPLEMENT = "limits.supplement"
ONTIME = "after.ontime"
LINGQIANTONG = "after.lingqiantong"

REQUIRED_ENTRY_IDS: frozenset[str] = frozenset(
    {
        REAL_NAME_ACCOUNT,
        FACE,
        PRODUCTS_OVERVIEW,
        CHANNELS_OVERVIEW,
        FACTOR_CREDIT_REPORT,
        FACTOR_ASSETS,
        MULTI_LENDER,
        RISK_GRADING,
        SPECIAL_OVERVIEW,
        SPECIAL_CHANNEL,
        NEW_USER_PROFILE,
        REJECT_PAY_SCORE,
        CREDIT_TASKS,
        CLOSING_REPAYMENT_CAPACITY,
        SCORE_BOOST,
        PAY_HISTORY,
        PURPOSE,
        INQUIRY_WAIT,
        ACTIVITY,
        COOLING,
        SUPPLEMENT,
        ONTIME,
        LINGQIANTONG,
    }
)

CHANNEL_WALLET = "wallet"
CHANNEL_MINI_PROGRAM = "mini_program"
CHANNEL_SCENE = "scene"
CHANNEL_KEYS: frozenset[str] = frozenset({CHANNEL_WALLET, CHANNEL_MINI_PROGRAM, CHANNEL_SCENE})
