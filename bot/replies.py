"""The stored form of a reply, and its rendering as WeChat's passive reply XML.

A reply is stored (for WeChat's retries) as small JSON, then rendered per request, so a
retry in safe mode is encrypted afresh with its own nonce and timestamp.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from wechatpy.replies import TextReply, TransferCustomerServiceReply

from .inbound import Inbound
from .xmlsafe import cdata_safe

__all__ = ["SUCCESS", "StoredReply", "render_passive", "render_passive_json"]


@dataclass(frozen=True, slots=True)
class StoredReply:
    """What WeChat gets for one message.

    ``text`` (a bubble), ``success`` (nothing) or ``transfer`` (hand the conversation to
    a human agent: WeChat's ``transfer_customer_service``).
    """

    kind: str
    text: str = ""

    def to_json(self) -> str:
        """Serialise for the ``processed`` table."""
        return json.dumps({"kind": self.kind, "text": self.text}, ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str | None) -> StoredReply:
        """Inverse of :meth:`to_json`; anything unreadable becomes ``success``."""
        try:
            data = json.loads(raw or "")
            return cls(kind=str(data["kind"]), text=str(data.get("text", "")))
        except (ValueError, KeyError, TypeError):
            return SUCCESS


SUCCESS = StoredReply("success")


def render_passive(reply: StoredReply, inbound: Inbound, now: float) -> str:
    """The plaintext body of the HTTP answer: reply XML, or ``success``."""
    if reply.kind == "transfer":
        return str(
            TransferCustomerServiceReply(
                source=cdata_safe(inbound.account),
                target=cdata_safe(inbound.openid),
                time=int(now),
            ).render()
        )
    if reply.kind != "text" or not reply.text:
        return "success"
    return str(
        TextReply(
            content=cdata_safe(reply.text),
            source=cdata_safe(inbound.account),
            target=cdata_safe(inbound.openid),
            time=int(now),
        ).render()
    )


def render_passive_json(reply: StoredReply, inbound: Inbound, now: float) -> str:
    """A mini-program JSON push's answer: ``success`` or a JSON transfer."""
    if reply.kind != "transfer":
        return "success"
    return json.dumps(
        {
            "ToUserName": inbound.openid,
            "FromUserName": inbound.account,
            "CreateTime": int(now),
            "MsgType": "transfer_customer_service",
        },
        ensure_ascii=False,
    )
