"""WeChat's side of the push protocol: signed requests, AES envelopes, reply reading.

Encryption and decryption are wechatpy's ``WeChatCrypto``, the reference implementation,
so the simulator talks to wxloan exactly as WeChat would.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from defusedxml.ElementTree import fromstring
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

__all__ = ["Push", "PushBuilder", "ReadReply", "sign"]


def sign(*parts: str) -> str:
    """WeChat's SHA-1 signature over the sorted parts."""
    signer = WeChatSigner()
    signer.add_data(*parts)
    return str(signer.signature)


def _cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


@dataclass(frozen=True, slots=True)
class Push:
    """One HTTP request WeChat would make: query string, body and content type."""

    query: dict[str, str]
    body: str
    content_type: str


@dataclass(frozen=True, slots=True)
class ReadReply:
    """A decoded answer: ``success`` / a text / a transfer, with the raw fields.

    ``plain`` is the answer as the bot rendered it: the body itself, or what the
    encrypted envelope held.
    """

    kind: str
    text: str = ""
    fields: dict[str, str] = field(default_factory=dict)
    plain: str = ""


@dataclass
class PushBuilder:
    """Builds pushes for one account.

    :param mode: ``plain``, ``compat`` or ``safe``.
    :param data_format: ``xml`` (Official Account, mini-program) or ``json`` (mini-program).
    """

    token: str
    app_id: str = ""
    aes_key: str = ""
    account: str = "gh_simulator"
    mode: str = "plain"
    data_format: str = "xml"
    clock: Callable[[], float] = time.time

    def message_fields(self, openid: str, msg_type: str, **extra: Any) -> dict[str, Any]:
        """The fields of a push (``CreateTime`` now)."""
        return {"ToUserName": self.account, "FromUserName": openid,
                "CreateTime": int(self.clock()), "MsgType": msg_type, **extra}

    def encode(self, fields: dict[str, Any]) -> str:
        """The plaintext payload in this builder's data format."""
        if self.data_format == "json":
            return json.dumps(fields, ensure_ascii=False)
        parts = []
        for tag, value in fields.items():
            text = str(value) if isinstance(value, int) else _cdata(str(value))
            parts.append(f"<{tag}>{text}</{tag}>")
        return "<xml>" + "".join(parts) + "</xml>"

    def build(self, fields: dict[str, Any]) -> Push:
        """Sign (and in compatible/safe mode encrypt) one push."""
        timestamp = str(int(self.clock()))
        nonce = str(secrets.randbelow(10**9))
        query = {"timestamp": timestamp, "nonce": nonce,
                 "signature": sign(self.token, timestamp, nonce)}
        payload = self.encode(fields)
        content_type = "application/json" if self.data_format == "json" else "text/xml"
        if self.mode == "plain":
            return Push(query, payload, content_type)
        if not self.aes_key:
            raise ValueError("compatible/safe mode needs the EncodingAESKey")
        envelope = WeChatCrypto(self.token, self.aes_key, self.app_id).encrypt_message(
            payload, nonce, timestamp
        )
        encrypt = str(fromstring(envelope).findtext("Encrypt"))
        query.update(encrypt_type="aes", msg_signature=sign(self.token, timestamp, nonce, encrypt))
        outer: dict[str, Any] = dict(fields) if self.mode == "compat" else {
            "ToUserName": self.account}
        outer["Encrypt"] = encrypt
        return Push(query, self.encode(outer), content_type)

    def read(self, status: int, body: str) -> ReadReply:
        """Decode an answer (verifying and decrypting an encrypted one)."""
        if status != 200:
            return ReadReply("error", f"HTTP {status}: {body.strip()[:200]}", plain=body)
        if body.strip() in ("", "success"):
            return ReadReply("success", plain=body)
        if body.lstrip().startswith("{"):
            data = json.loads(body)
            if "Encrypt" in data:
                body = self._open(str(data["Encrypt"]), str(data["MsgSignature"]),
                                  str(data["TimeStamp"]), str(data["Nonce"]))
                data = json.loads(body) if body.lstrip().startswith("{") else {}
            fields = {k: str(v) for k, v in data.items()}
        else:
            root = fromstring(body.encode("utf-8"))
            if root.find("Encrypt") is not None:
                body = self._open(str(root.findtext("Encrypt")), str(root.findtext("MsgSignature")),
                                  str(root.findtext("TimeStamp")), str(root.findtext("Nonce")))
                root = fromstring(body.encode("utf-8"))
            fields = {child.tag: child.text or "" for child in root}
        msg_type = fields.get("MsgType", "")
        if msg_type == "transfer_customer_service":
            return ReadReply("transfer", "", fields, body)
        return ReadReply("text", fields.get("Content", ""), fields, body)

    def _open(self, encrypt: str, signature: str, timestamp: str, nonce: str) -> str:
        if sign(self.token, timestamp, nonce, encrypt) != signature:
            raise ValueError("reply signature does not verify")
        crypto = WeChatCrypto(self.token, self.aes_key, self.app_id)
        xml = f"<xml><Encrypt>{_cdata(encrypt)}</Encrypt></xml>"
        return str(crypto.decrypt_message(xml, signature, timestamp, nonce))
