"""Delivery of replies outside the HTTP answer: WeChat's customer-service send API.

Used for every mini-program answer, and for Official Account replies that missed the
passive-reply deadline. :class:`CustomerServiceSender` keeps WeChat's sending windows in a
ledger (SQLite, shared by all workers) so the bot never knowingly exceeds them:

* every user message opens a 48-hour window for 5 messages;
* entering a mini-program customer-service session: 2 messages within a minute;
* an Official Account menu click or subscribe: 3 messages within a minute.

Each attempt is recorded in ``deliveries``; a sent message also in ``messages`` (``out``).
Without an AppSecret there is no sender: the pipeline then uses WeChat's own retries of
the message (see :mod:`bot.pipeline`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from wxloan.storage import Grant, StoreBackend

from .inbound import Inbound, Kind
from .logs import user_ref
from .wechat_api import NO_RETRY, ApiError, WeChatApi

__all__ = [
    "CustomerServiceSender",
    "OutboundSender",
    "QuotaRule",
    "QuotaTracking",
]

log = logging.getLogger("wxloan.outbound")


class OutboundSender(Protocol):
    """Something that can push a text to a user outside the HTTP reply."""

    async def send_text(
        self, openid: str, text: str, *, msg_key: str, logged: bool = False
    ) -> bool:
        """Send ``text``; return True when delivered (retries then get ``success``).

        :param logged: the text is already in the message log (a late passive reply).
        """
        ...


@runtime_checkable
class QuotaTracking(Protocol):
    """A sender that opens sending windows when users write (and can show typing)."""

    def grants_for(self, inbound: Inbound) -> tuple[Grant, ...]:
        """The sending windows this inbound message opens (stored with the turn)."""
        ...

    async def typing(self, openid: str) -> None:
        """Show "typing…" to the user (best effort)."""
        ...


@dataclass(frozen=True, slots=True)
class QuotaRule:
    """A window WeChat opens: ``allowance`` messages within ``seconds``."""

    kind: str
    allowance: int
    seconds: float


USER_MESSAGE = QuotaRule("user_message", 5, 48 * 3600)
ENTER_SESSION = QuotaRule("enter_session", 2, 60)
MENU_OR_SUBSCRIBE = QuotaRule("menu_or_subscribe", 3, 60)


def _rule_for(inbound: Inbound) -> QuotaRule | None:
    if inbound.kind is Kind.EVENT:
        if inbound.event == "user_enter_tempsession":
            return ENTER_SESSION
        if inbound.event in {"click", "subscribe", "scan"}:
            return MENU_OR_SUBSCRIBE
        return None
    return USER_MESSAGE


class CustomerServiceSender:
    """Sends through ``message/custom/send`` within the quota ledger."""

    def __init__(self, api: WeChatApi, store: StoreBackend, clock: Callable[[], float]) -> None:
        self.api = api
        self._store = store
        self._clock = clock

    def grants_for(self, inbound: Inbound) -> tuple[Grant, ...]:
        """The window this message opens (see the module docstring).

        The pipeline stores it in the same transaction as the turn, so a message
        processed twice (two workers) never opens its window twice.
        """
        rule = _rule_for(inbound)
        if rule is None:
            return ()
        return (Grant(self.api.app_id, rule.kind, rule.allowance, rule.seconds),)

    async def note_inbound(self, inbound: Inbound, now: float) -> None:
        """Open this message's window directly (tools and tests; not the hot path)."""
        for grant in self.grants_for(inbound):
            await self._store.grant_quota(
                grant.app_id, inbound.openid, grant.kind, now, grant.allowance, grant.seconds
            )

    async def typing(self, openid: str) -> None:
        """Best effort: a failed typing indicator never blocks the answer."""
        try:
            await self.api.typing(openid)
        except ApiError:
            log.info("typing indicator failed", extra={"fields": {"user": user_ref(openid)}})

    async def send_text(
        self, openid: str, text: str, *, msg_key: str, logged: bool = False
    ) -> bool:
        """Send within the ledger; record the attempt; True when WeChat accepted it."""
        now = self._clock()
        window = await self._store.consume_quota(self.api.app_id, openid, now)
        fields = {"user": user_ref(openid), "msg_key": msg_key, "app_id": self.api.app_id}
        if window is None:
            log.warning("not sent: no open sending window", extra={"fields": fields})
            await self._record(openid, msg_key, text, "quota", 0, logged)
            return False
        try:
            result = await self.api.send_text(openid, text)
        except ApiError as exc:
            await self._store.refund_quota(self.api.app_id, openid, window, self._clock())
            log.warning("not sent: API unreachable",
                        extra={"fields": {**fields, "error": str(exc)}})
            await self._record(openid, msg_key, text, "failed", -2, logged)
            return False
        if result.ok:
            await self._record(openid, msg_key, text, "sent", 0, logged)
            return True
        if result.errcode not in NO_RETRY:
            await self._store.refund_quota(self.api.app_id, openid, window, self._clock())
        log.warning(
            "not sent: WeChat refused",
            extra={"fields": {**fields, "errcode": result.errcode, "errmsg": result.errmsg}},
        )
        await self._record(openid, msg_key, text, "failed", result.errcode, logged)
        return False

    async def _record(
        self, openid: str, msg_key: str, text: str, status: str, errcode: int, logged: bool
    ) -> None:
        await self._store.record_delivery(
            app_id=self.api.app_id,
            openid=openid,
            msg_key=msg_key,
            msg_type="text",
            content=text,
            status=status,
            errcode=errcode,
            now=self._clock(),
            log_message=not logged,
        )
