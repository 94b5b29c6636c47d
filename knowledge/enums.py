"""String enums shared by the profile, the data and the results.

Values are the wire format: the language-understanding module emits them as plain
strings and the dialogue stores them as JSON, so they must never be renamed.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "Evidence",
    "Identity",
    "Material",
    "Overdue",
    "Purpose",
    "Questionnaire",
    "RejectionHint",
    "RepaymentMethod",
    "RiskGrade",
    "Status",
]


class Overdue(StrEnum):
    """Overdue state of the applicant's credit record."""

    NONE = "none"  # never overdue
    PAST = "past"  # overdue before, settled now
    CURRENT = "current"  # overdue right now: decides "no" at once


class Identity(StrEnum):
    """Which applicant group the article's special tracks (section 7) apply to."""

    EMPLOYEE = "employee"
    STUDENT = "student"
    BUSINESS_OWNER = "business_owner"
    NEW_USER = "new_user"


class Material(StrEnum):
    """Supplementary materials of the article's materials table (section 4)."""

    SOCIAL_SECURITY = "social_security"  # 社保/公积金
    PROPERTY = "property"  # 房产证明
    BUSINESS = "business"  # 企业认证


class Purpose(StrEnum):
    """What the applicant wants the money for; house and investment are banned."""

    CONSUMPTION = "consumption"
    HOUSE = "house"
    INVESTMENT = "investment"
    BUSINESS = "business"
    OTHER = "other"


class RejectionHint(StrEnum):
    """What an earlier rejection message said."""

    SCORE_INSUFFICIENT = "score_insufficient"  # 综合评分不足
    TOO_MANY_INQUIRIES = "too_many_inquiries"
    OTHER = "other"


class Status(StrEnum):
    """Per-product verdict: meets the article's reference thresholds, not an approval."""

    YES = "yes"  # every reference threshold is known and met
    NO = "no"  # a known value fails a threshold or a hard rule
    UNKNOWN = "unknown"  # some value that could still make it "no" is unknown


class Lean(StrEnum):
    """Where a product stands on what is known so far (the answer-first verdict).

    A :class:`Status` waits for every blocking field; a lean answers now: a known value
    already fails (``no``), every threshold that could be checked is met and only the
    rarely-failing conditions are open (``likely``: "fits, provided …"), or the value
    that decides it, the pay score, is still unknown (``depends``).
    """

    YES = "yes"  # status yes: every reference threshold known and met
    LIKELY = "likely"  # the pay score (and group) fit; hard conditions still unconfirmed
    DEPENDS = "depends"  # the deciding threshold (pay score) is unknown
    NO = "no"  # a known value fails a threshold or a hard rule


class RiskGrade(StrEnum):
    """The article's daily risk grades (section 5)."""

    A = "A"
    B = "B"
    C = "C"


class Evidence(StrEnum):
    """How a rejection cause was found, strongest first."""

    STATED = "stated"  # the rejection message said so
    OBSERVED = "observed"  # a known profile value crosses the article's threshold
    ASSUMED = "assumed"  # nothing specific is known; generic advice


class Questionnaire(StrEnum):
    """The questionnaire a next_questions() call serves.

    The dialogue's flows (``wxloan.handlers.states.Flow``) that are questionnaires carry
    the same values, so a flow is accepted wherever a questionnaire is.
    """

    ELIGIBILITY = "eligibility"
    REJECTION = "rejection"
    LIMITS = "limits"


class RepaymentMethod(StrEnum):
    """Repayment schedules the calculator supports."""

    EQUAL_INSTALMENT = "equal_instalment"  # 等额本息
    EQUAL_PRINCIPAL = "equal_principal"  # 等额本金
