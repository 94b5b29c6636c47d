"""Errors of the web layer, mapped to HTTP answers only in :mod:`bot.middlewares`.

::

    BotError
    ├── ConfigError           settings are missing or inconsistent (start-up stops)
    ├── StartupError          the system refuses a setting: port in use, database file
    │                         unopenable, host unknown, --url unreachable (exit 2)
    ├── WorkersFailed         the supervisor cannot keep its workers up (exit 1)
    └── RequestRejected       an inbound request is refused; carries its HTTP status
        ├── Forbidden          403: bad/missing signature, replayed timestamp, undecryptable
        ├── BadRequest         400: malformed XML/JSON, DOCTYPE or entities, missing fields
        └── PayloadTooLarge    413: body over the configured limit
"""

from __future__ import annotations

__all__ = [
    "BadRequest",
    "BotError",
    "ConfigError",
    "Forbidden",
    "PayloadTooLarge",
    "RequestRejected",
    "StartupError",
    "WorkersFailed",
]


class BotError(Exception):
    """Base class of every error the web layer raises on purpose."""


class ConfigError(BotError):
    """Settings are missing or inconsistent; the message says which and how to fix it."""


class StartupError(BotError):
    """A setting is valid but cannot be used here; the message names it and says why.

    Printed as one line, ``wxloan: <message>``, and the command exits with status 2.
    """


class WorkersFailed(BotError):
    """Workers keep dying right after they start; the supervisor gives up (exit 1)."""


class RequestRejected(BotError):
    """An inbound request is refused before anything is parsed or stored."""

    status = 400
    #: a short machine-readable reason for the log line (never user data)
    reason: str

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Forbidden(RequestRejected):
    """Signature, replay-window or decryption check failed."""

    status = 403


class BadRequest(RequestRejected):
    """The body is not a WeChat message we can read safely."""

    status = 400


class PayloadTooLarge(RequestRejected):
    """The body is larger than ``Settings.max_body_bytes``."""

    status = 413
