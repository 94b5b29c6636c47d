"""Sending pushes to a webhook over HTTP and timing the answers."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp

from .protocol import PushBuilder, ReadReply

__all__ = ["Exchange", "WebhookClient", "Wire"]

_msg_ids = itertools.count(int(time.time() * 1000))


@dataclass(frozen=True, slots=True)
class Wire:
    """One push as it went over HTTP and as each side read it, for inspecting.

    ``request_plain`` is the payload before encryption, ``request_body`` the body sent;
    ``reply_body`` the answer received, ``reply_plain`` what it decrypted to.
    """

    url: str
    query: dict[str, str]
    content_type: str
    request_plain: str
    request_body: str
    status: int
    reply_body: str
    reply_plain: str
    build_ms: float
    read_ms: float

    @property
    def request_line(self) -> str:
        """``POST url?query`` with the query in the order WeChat sends it."""
        return f"POST {self.url}?{urlencode(self.query)}"

    @property
    def encrypted(self) -> bool:
        return "msg_signature" in self.query


@dataclass(frozen=True, slots=True)
class Exchange:
    """One push and its answer (``latency_ms``: the HTTP round trip)."""

    fields: dict[str, Any]
    reply: ReadReply
    latency_ms: float
    wire: Wire | None = None


class WebhookClient:
    """Plays WeChat's server against ``url`` (``…/wechat`` or ``…/miniprogram``)."""

    def __init__(self, session: aiohttp.ClientSession, url: str, builder: PushBuilder) -> None:
        self.session = session
        self.url = url
        self.builder = builder
        self.last: dict[str, Any] | None = None
        self.wire: Wire | None = None

    async def push(self, fields: dict[str, Any]) -> Exchange:
        """Send ``fields`` as one signed push; remember it for :meth:`retry`."""
        self.last = fields
        started = time.perf_counter()
        request = self.builder.build(fields)
        sent = time.perf_counter()
        async with self.session.post(
            self.url, params=request.query, data=request.body.encode("utf-8"),
            headers={"Content-Type": request.content_type},
        ) as resp:
            body = await resp.text()
            status = resp.status
        answered = time.perf_counter()
        reply = self.builder.read(status, body)
        self.wire = Wire(
            self.url, dict(request.query), request.content_type, self.builder.encode(fields),
            request.body, status, body, reply.plain, build_ms=(sent - started) * 1000,
            read_ms=(time.perf_counter() - answered) * 1000)
        return Exchange(fields, reply, (answered - sent) * 1000, self.wire)

    def inspect(self) -> str:
        """The last request and reply: the plaintext payload and what went over the wire."""
        wire = self.wire
        if wire is None:
            return "(nothing sent yet)"
        text = (f"request (decrypted):\n{wire.request_plain}\n"
                f"request (on the wire):\n{wire.request_line}\n{wire.request_body}\n"
                f"reply (HTTP {wire.status}, on the wire):\n{wire.reply_body}")
        if wire.reply_plain != wire.reply_body:
            text += f"\nreply (decrypted):\n{wire.reply_plain}"
        return text

    async def retry(self) -> Exchange | None:
        """Resend the last push with the same MsgId, as WeChat does after a timeout."""
        if self.last is None:
            return None
        return await self.push(self.last)

    async def text(self, openid: str, content: str) -> Exchange:
        """A text message with a fresh MsgId."""
        return await self.push(self.builder.message_fields(
            openid, "text", Content=content, MsgId=next(_msg_ids)))

    async def voice(self, openid: str, recognition: str) -> Exchange:
        """A voice message that WeChat transcribed to ``recognition``."""
        return await self.push(self.builder.message_fields(
            openid, "voice", MediaId="sim-media", Format="amr", Recognition=recognition,
            MsgId=next(_msg_ids)))

    async def media(self, openid: str, msg_type: str = "image") -> Exchange:
        """An image (or another media type)."""
        return await self.push(self.builder.message_fields(
            openid, msg_type, PicUrl="http://127.0.0.1/sim.jpg", MediaId="sim-media",
            MsgId=next(_msg_ids)))

    async def event(self, openid: str, event: str, key: str = "") -> Exchange:
        """An event push (subscribe, CLICK with ``key``, user_enter_tempsession…)."""
        extra: dict[str, Any] = {"Event": event}
        if key:
            extra["EventKey"] = key
        return await self.push(self.builder.message_fields(openid, "event", **extra))
