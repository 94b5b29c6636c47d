"""Sending pushes to a webhook over HTTP and timing the answers."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

from .protocol import PushBuilder, ReadReply

__all__ = ["Exchange", "WebhookClient"]

_msg_ids = itertools.count(int(time.time() * 1000))


@dataclass(frozen=True, slots=True)
class Exchange:
    """One push and its answer."""

    fields: dict[str, Any]
    reply: ReadReply
    latency_ms: float


class WebhookClient:
    """Plays WeChat's server against ``url`` (``…/wechat`` or ``…/miniprogram``)."""

    def __init__(self, session: aiohttp.ClientSession, url: str, builder: PushBuilder) -> None:
        self.session = session
        self.url = url
        self.builder = builder
        self.last: dict[str, Any] | None = None
        self.raw: tuple[str, str, str, str] | None = None

    async def push(self, fields: dict[str, Any]) -> Exchange:
        """Send ``fields`` as one signed push; remember it for :meth:`retry`."""
        self.last = fields
        request = self.builder.build(fields)
        started = time.perf_counter()
        async with self.session.post(
            self.url, params=request.query, data=request.body.encode("utf-8"),
            headers={"Content-Type": request.content_type},
        ) as resp:
            body = await resp.text()
            status = resp.status
        latency = (time.perf_counter() - started) * 1000
        self.raw = (self.builder.encode(fields), request.body, str(status), body)
        return Exchange(fields, self.builder.read(status, body), latency)

    def inspect(self) -> str:
        """The last request and reply: the plaintext payload and what went over the wire."""
        if self.raw is None:
            return "(nothing sent yet)"
        payload, wire, status, body = self.raw
        return (f"request (decrypted):\n{payload}\nrequest (on the wire):\n{wire}\n"
                f"reply (HTTP {status}, on the wire):\n{body}")

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
