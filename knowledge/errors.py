"""The one exception tree of the knowledge package.

Callers catch at the level they care about::

    KnowledgeError                      anything raised by knowledge/
    ├── DataError                       a data file is missing, malformed or inconsistent
    ├── UnknownEntryError (+ KeyError)  kb.entry()/kb.product() etc. got an unknown id
    ├── ProfileError (+ ValueError)     an applicant value is out of range or of the wrong type
    └── CalculatorError (+ ValueError)  a repayment-calculator input is out of range

Data errors name the file and the field (``products.toml: products[1].min_pay_score:
expected integer, got str``) so a broken deploy is fixed from the message alone.
"""

from __future__ import annotations

__all__ = [
    "CalculatorError",
    "DataError",
    "KnowledgeError",
    "ProfileError",
    "UnknownEntryError",
]


class KnowledgeError(Exception):
    """Base of every error raised by the knowledge package."""


class DataError(KnowledgeError):
    """Knowledge data failed validation at load; start-up must stop.

    :param problems: every ``file: field: message`` found (the message alone if not given)
    """

    def __init__(self, message: str, *, problems: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.problems: tuple[str, ...] = problems or (message,)


class UnknownEntryError(KnowledgeError, KeyError):
    """A lookup by id or key found nothing."""

    def __str__(self) -> str:
        # KeyError.__str__ repr()s its argument; keep the plain message.
        return str(self.args[0]) if self.args else ""


class ProfileError(KnowledgeError, ValueError):
    """An applicant-profile value is out of range or cannot be converted."""


class CalculatorError(KnowledgeError, ValueError):
    """A repayment-calculator input is out of range."""
