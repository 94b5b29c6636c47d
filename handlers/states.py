"""Dialogue flows, stored by value in ``sessions.flow``.

``None`` (no flow) is the idle state. Inside a flow, ``sessions.step`` names the pending
question (a profile field), so a restart resumes exactly where the user was.
"""

from __future__ import annotations

import enum

__all__ = ["Flow"]


class Flow(enum.StrEnum):
    """The guided conversations a user can be in."""

    ELIGIBILITY = "eligibility"  #: can I open it? (questionnaire → assessment card)
    REJECTION = "rejection"  #: why was I rejected? (diagnosis → re-apply date)
    LIMITS = "limits"  #: how do I raise my limit? (ranked actions)
    CALCULATOR = "calculator"  #: collecting amount, term and rate for a repayment plan
