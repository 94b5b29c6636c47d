"""Structured logging: one JSON object per line, never personal data or secrets.

Users are identified by :func:`user_ref`, a short one-way hash of the openid, so log lines
about one user can be correlated without storing who they are.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import time
from collections.abc import Iterable
from typing import Any

__all__ = ["JsonFormatter", "configure_logging", "find_user", "user_ref"]


def user_ref(openid: str) -> str:
    """A stable 12-hex-digit reference for ``openid`` (not reversible)."""
    return hashlib.sha256(openid.encode("utf-8")).hexdigest()[:12]


def find_user(openids: Iterable[str], user: str) -> str | None:
    """The openid ``user`` names among ``openids``: itself, or the one whose log reference
    it is (operators copy a user from a log line); None when neither."""
    known = list(openids)
    if user in known:
        return user
    return next((openid for openid in known if user_ref(openid) == user), None)


class JsonFormatter(logging.Formatter):
    """Formats records as ``{"ts":…, "level":…, "logger":…, "msg":…, …fields}``."""

    _second: int = -1
    _prefix: str = ""

    def _timestamp(self, record: logging.LogRecord) -> str:
        """ISO 8601 UTC with milliseconds; the date and time formatted once a second."""
        second = int(record.created)
        if second != self._second:
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        return f"{self._prefix}.{int(record.msecs):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self._timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: str = "INFO") -> None:
    """Send wxloan's and aiohttp's logs to stderr as JSON lines.

    Our lines never show the caller's file and line, thread or process name, so the
    logging module is told not to collect them for every record (the optimisations its
    HOWTO lists; a third of the cost of the per-message line, measured).
    """
    logging._srcfile = None  # no stack walk per record
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiohttp's access log duplicates our per-message line and logs full query strings.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
