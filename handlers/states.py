"""Dialogue flows: the one enum for every state a user can be in, stored by value.

``None`` (no flow) is the idle state. Inside a flow, ``sessions.step`` names the pending
question (a profile field), so a restart resumes exactly where the user was. The
questionnaire flows share their values with the core's :class:`~wxloan.knowledge.Questionnaire`,
so a flow is passed to the core as it is.
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
    HANDOFF = "handoff"  #: a human agent has the conversation; the bot stays quiet

    @classmethod
    def decode(cls, stored: str | None) -> Flow | None:
        """The flow a session was stored in; an unknown (older) value reads as idle."""
        if stored is None:
            return None
        try:
            return cls(stored)
        except ValueError:
            return None
