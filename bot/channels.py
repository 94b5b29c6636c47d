"""The two ways WeChat pushes messages to us, and what differs between them.

* ``official_account`` at ``/wechat``: XML; the answer goes back in the HTTP reply
  (passive reply), or through the customer-service API if it misses the deadline.
* ``miniprogram`` at ``/miniprogram``: XML or JSON; WeChat expects ``success`` at once and
  every answer goes out through the customer-service send API.

Both share verification, decryption, limits and de-duplication (:mod:`bot.webhook`).
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import Settings
from .security import MessageCrypto

__all__ = ["MINIPROGRAM", "OFFICIAL_ACCOUNT", "Channel", "channels_from"]

OFFICIAL_ACCOUNT = "official_account"
MINIPROGRAM = "miniprogram"


@dataclass(frozen=True, slots=True)
class Channel:
    """One push endpoint: its path, token, optional crypto, and how it answers.

    :param passive: True when the answer goes back in the HTTP body.
    """

    name: str
    path: str
    token: str
    app_id: str
    crypto: MessageCrypto | None
    passive: bool


def channels_from(settings: Settings) -> tuple[Channel, ...]:
    """The channels these settings turn on (the Official Account always)."""
    official = Channel(
        name=OFFICIAL_ACCOUNT,
        path="/wechat",
        token=settings.token,
        app_id=settings.app_id,
        crypto=(
            MessageCrypto(settings.token, settings.app_id, settings.aes_key,
                          settings.aes_key_previous)
            if settings.aes_key
            else None
        ),
        passive=True,
    )
    if not settings.miniprogram_enabled:
        return (official,)
    mini = Channel(
        name=MINIPROGRAM,
        path="/miniprogram",
        token=settings.wxa_token,
        app_id=settings.wxa_app_id,
        crypto=(
            MessageCrypto(settings.wxa_token, settings.wxa_app_id, settings.wxa_aes_key)
            if settings.wxa_aes_key
            else None
        ),
        passive=False,
    )
    return (official, mini)
