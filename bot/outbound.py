"""Delivery of replies that missed WeChat's passive-reply window.

The customer-service send API is the real channel for those (see the mini-program issue);
until it is configured, :class:`KeepForRetrySender` logs the miss and keeps the reply in the
``processed`` table, where WeChat's next retry of the same message picks it up.
"""

from __future__ import annotations

import logging
from typing import Protocol

__all__ = ["KeepForRetrySender", "OutboundSender"]

log = logging.getLogger("wxloan.outbound")


class OutboundSender(Protocol):
    """Something that can push a text to a user outside the HTTP reply."""

    async def send_text(self, openid: str, text: str, *, msg_key: str) -> bool:
        """Send ``text``; return True when delivered (retries then get ``success``)."""
        ...


class KeepForRetrySender:
    """Records that a reply was late; delivery is left to WeChat's retry."""

    async def send_text(self, openid: str, text: str, *, msg_key: str) -> bool:
        """Log the late reply (no personal data) and report it as not delivered."""
        log.warning(
            "late reply kept for WeChat's retry",
            extra={"fields": {"msg_key": msg_key, "bytes": len(text.encode("utf-8"))}},
        )
        return False
