"""WeChat's request checks: signatures, the replay window, and AES message crypto.

Why not ``wechatpy.utils.check_signature``: it compares with ``!=``; we compute the same
SHA-1 (via wechatpy's ``WeChatSigner``) and compare in constant time. AES itself is
wechatpy's ``PrpCrypto``; we only add key rotation (WeChat's FAQ: after changing the
EncodingAESKey, messages encrypted with the previous key may still arrive for a while).
"""

from __future__ import annotations

import base64
import hmac
import json
import struct
from dataclasses import dataclass

from wechatpy.crypto import PrpCrypto
from wechatpy.exceptions import InvalidAppIdException
from wechatpy.utils import WeChatSigner

from .errors import Forbidden

__all__ = ["MessageCrypto", "check_signature", "check_timestamp", "signature_of"]


def signature_of(*parts: str) -> str:
    """WeChat's signature: SHA-1 of the sorted, concatenated parts."""
    signer = WeChatSigner()
    signer.add_data(*parts)
    return str(signer.signature)


def check_signature(expected_from: tuple[str, ...], signature: str | None) -> None:
    """Raise :class:`Forbidden` unless ``signature`` signs ``expected_from``.

    :param expected_from: the token, timestamp, nonce (and the ciphertext in safe mode).
    """
    if not signature or any(part is None for part in expected_from):
        raise Forbidden("missing signature")
    expected = signature_of(*expected_from)
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        raise Forbidden("bad signature")


def check_timestamp(timestamp: str | None, now: float, window: float) -> None:
    """Refuse requests whose timestamp is missing, malformed or outside ``window``."""
    if not timestamp or not timestamp.isdigit() or len(timestamp) > 12:
        raise Forbidden("bad timestamp")
    if abs(now - int(timestamp)) > window:
        raise Forbidden("timestamp outside replay window")


@dataclass(frozen=True, slots=True)
class _Key:
    name: str
    crypto: PrpCrypto


class MessageCrypto:
    """Decrypt inbound and encrypt outbound messages, with the previous key as fallback."""

    def __init__(self, token: str, app_id: str, aes_key: str, previous_key: str = "") -> None:
        self.token = token
        self.app_id = app_id
        self._keys = [
            _Key(name, PrpCrypto(base64.b64decode(key + "=")))
            for name, key in (("current", aes_key), ("previous", previous_key))
            if key
        ]

    def decrypt(self, ciphertext: str) -> tuple[str, int]:
        """Return the plaintext and the index of the key that worked.

        :raises Forbidden: when no configured key decrypts it for our AppID.
        """
        for index, key in enumerate(self._keys):
            try:
                return str(key.crypto.decrypt(ciphertext, self.app_id)), index
            except (InvalidAppIdException, ValueError, IndexError, struct.error, TypeError):
                continue
        raise Forbidden("cannot decrypt with any configured EncodingAESKey")

    def key_name(self, index: int) -> str:
        """``current`` or ``previous``, for the log line."""
        return self._keys[index].name

    def _seal(self, plaintext: str, key_index: int, nonce: str, timestamp: str) -> tuple[str, str]:
        ciphertext = self._keys[key_index].crypto.encrypt(plaintext, self.app_id)
        encrypt = ciphertext.decode() if isinstance(ciphertext, bytes) else str(ciphertext)
        return encrypt, signature_of(self.token, timestamp, nonce, encrypt)

    def encrypt_json(self, plaintext: str, key_index: int, nonce: str, timestamp: str) -> str:
        """The encrypted JSON envelope of the mini-program's JSON data format."""
        encrypt, signature = self._seal(plaintext, key_index, nonce, timestamp)
        return json.dumps(
            {"Encrypt": encrypt, "MsgSignature": signature, "TimeStamp": int(timestamp),
             "Nonce": nonce}
        )

    def encrypt(self, plaintext: str, key_index: int, nonce: str, timestamp: str) -> str:
        """The encrypted reply envelope WeChat expects, signed with our token."""
        encrypt, signature = self._seal(plaintext, key_index, nonce, timestamp)
        return (
            f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt>"
            f"<MsgSignature><![CDATA[{signature}]]></MsgSignature>"
            f"<TimeStamp>{timestamp}</TimeStamp><Nonce><![CDATA[{nonce}]]></Nonce></xml>"
        )
