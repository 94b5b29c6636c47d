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
from typing import Any

__all__ = ["JsonFormatter", "configure_logging", "user_ref"]


def user_ref(openid: str) -> str:
    """A stable 12-hex-digit reference for ``openid`` (not reversible)."""
    return hashlib.sha256(openid.encode("utf-8")).hexdigest()[:12]


class JsonFormatter(logging.Formatter):
    """Formats records as ``{"ts":…, "level":…, "logger":…, "msg":…, …fields}``."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
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
    """Send wxloan's and aiohttp's logs to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiohttp's access log duplicates our per-message line and logs full query strings.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
