"""A stand-in for WeChat's servers: builds signed (and encrypted) pushes, reads replies.

Encryption and reply decryption use wechatpy's own ``WeChatCrypto``, so the tests check
our crypto against the reference implementation rather than against itself.
"""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

import aiohttp
from aiohttp.test_utils import TestClient
from defusedxml.ElementTree import fromstring
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

TOKEN = "test-token-7f3a"
APP_ID = "wx0123456789abcdef"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
OLD_AES_KEY = "ZYXWVUTSRQPONMLKJIHGFEDCBAzyxwvutsrqponmlkj"
ACCOUNT = "gh_test_account"

_msg_ids = itertools.count(int(time.time() * 1000))


def sign(*parts: str) -> str:
    """WeChat's SHA-1 signature over the sorted parts."""
    signer = WeChatSigner()
    signer.add_data(*parts)
    return str(signer.signature)


def cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def message_xml(openid: str, msg_type: str, create_time: int, **fields: Any) -> str:
    """A push as WeChat sends it: ``<xml>`` with string fields in CDATA, numbers bare."""
    parts = [
        f"<ToUserName>{cdata(ACCOUNT)}</ToUserName>",
        f"<FromUserName>{cdata(openid)}</FromUserName>",
        f"<CreateTime>{create_time}</CreateTime>",
        f"<MsgType>{cdata(msg_type)}</MsgType>",
    ]
    for tag, value in fields.items():
        if isinstance(value, int):
            parts.append(f"<{tag}>{value}</{tag}>")
        else:
            parts.append(f"<{tag}>{cdata(str(value))}</{tag}>")
    return "<xml>" + "".join(parts) + "</xml>"


@dataclass
class Reply:
    """What the webhook answered, decrypted if needed."""

    status: int
    body: str
    xml: str = ""
    fields: dict[str, str] = field(default_factory=dict)
    #: the templates the reply was rendered from (apps built with ``expose_templates``)
    templates: tuple[str, ...] = ()

    @property
    def content(self) -> str:
        return self.fields.get("Content", "")


@dataclass
class WeChat:
    """Plays WeChat's server against one test client.

    :param mode: ``plain``, ``compat`` (plaintext fields + Encrypt) or ``safe``.
    """

    client: TestClient[Any, Any]
    token: str = TOKEN
    app_id: str = APP_ID
    aes_key: str = AES_KEY
    clock: Callable[[], float] = time.time
    path: str = "/wechat"

    def query(self, timestamp: int | None = None, nonce: str | None = None) -> dict[str, str]:
        ts = str(int(self.clock()) if timestamp is None else timestamp)
        nonce = nonce or str(secrets.randbelow(10**9))
        return {"timestamp": ts, "nonce": nonce, "signature": sign(self.token, ts, nonce)}

    def build(self, xml: str, mode: str = "plain", aes_key: str | None = None,
              timestamp: int | None = None) -> tuple[dict[str, str], str]:
        """The query string and body WeChat would send for ``xml`` in ``mode``."""
        query = self.query(timestamp)
        if mode == "plain":
            return query, xml
        crypto = WeChatCrypto(self.token, aes_key or self.aes_key, self.app_id)
        envelope = crypto.encrypt_message(xml, query["nonce"], query["timestamp"])
        encrypt = fromstring(envelope).find("Encrypt").text
        query["encrypt_type"] = "aes"
        query["msg_signature"] = sign(self.token, query["timestamp"], query["nonce"], encrypt)
        query["openid"] = "o"  # WeChat adds it; we must not rely on it
        if mode == "compat":
            head, _, _ = xml.rpartition("</xml>")
            body = f"{head}<Encrypt>{cdata(encrypt)}</Encrypt></xml>"
        else:
            body = (
                f"<xml><ToUserName>{cdata(ACCOUNT)}</ToUserName>"
                f"<Encrypt>{cdata(encrypt)}</Encrypt></xml>"
            )
        return query, body

    async def post(self, xml: str, mode: str = "plain", aes_key: str | None = None,
                   timestamp: int | None = None, query: dict[str, str] | None = None,
                   body: str | bytes | None = None, timeout: float | None = None) -> Reply:
        """POST one push; decrypt the answer when it is encrypted.

        :param timeout: give up (``TimeoutError``) and drop the connection after this
            many seconds, as WeChat does after 5 s.
        """
        built_query, built_body = self.build(xml, mode, aes_key, timestamp)
        resp = await self.client.post(
            self.path, params=query or built_query,
            data=(body if body is not None else built_body.encode("utf-8")),
            headers={"Content-Type": "text/xml"},
            **({} if timeout is None else {"timeout": aiohttp.ClientTimeout(total=timeout)}),
        )
        text = await resp.text()
        named = resp.headers.get("X-Wxloan-Templates", "")
        reply = Reply(resp.status, text, templates=tuple(filter(None, named.split(","))))
        if resp.status != 200 or text == "success":
            return reply
        if mode != "plain":
            envelope = fromstring(text.encode())
            get = lambda tag: envelope.find(tag).text  # noqa: E731
            expected = sign(self.token, get("TimeStamp"), get("Nonce"), get("Encrypt"))
            assert get("MsgSignature") == expected, "reply MsgSignature does not verify"
            crypto = WeChatCrypto(self.token, aes_key or self.aes_key, self.app_id)
            reply.xml = crypto.decrypt_message(text, expected, get("TimeStamp"), get("Nonce"))
        else:
            reply.xml = text
        root = fromstring(reply.xml.encode())
        reply.fields = {child.tag: child.text or "" for child in root}
        return reply

    async def text(self, openid: str, content: str, mode: str = "plain",
                   msg_id: int | None = None) -> Reply:
        """Send a text message (a fresh MsgId unless given)."""
        msg_id = next(_msg_ids) if msg_id is None else msg_id
        xml = message_xml(openid, "text", int(self.clock()), Content=content, MsgId=msg_id)
        return await self.post(xml, mode)

    async def event(self, openid: str, event: str, mode: str = "plain",
                    create_time: int | None = None, **extra: Any) -> Reply:
        """Send an event push (no MsgId; de-duplicated by source+time+event)."""
        when = int(self.clock()) if create_time is None else create_time
        xml = message_xml(openid, "event", when, Event=event, **extra)
        return await self.post(xml, mode)


def escape_text(value: str) -> str:
    return escape(value)
