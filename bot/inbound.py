"""From a verified XML body to one typed :class:`Inbound` message.

wechatpy's ``parse_message`` maps wire tags to Python names and falls back to
``UnknownMessage`` for new types, so a type WeChat adds tomorrow never crashes us. This
module only folds wechatpy's many classes into the few kinds the dialogue cares about.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from wechatpy import parse_message
from wechatpy.messages import BaseMessage

from .errors import BadRequest

__all__ = ["Inbound", "Kind", "to_inbound"]


class Kind(enum.StrEnum):
    """What the dialogue does with a message, whatever its wire type."""

    TEXT = "text"  #: typed text, or voice with a recognition result
    EMPTY_VOICE = "empty_voice"  #: voice WeChat could not transcribe
    MEDIA = "media"  #: image, video, location, link, file, mini-program card
    EVENT = "event"  #: subscribe, SCAN, CLICK, unsubscribe, ...
    UNKNOWN = "unknown"  #: a type wechatpy does not know


_MEDIA_TYPES = frozenset(
    {"image", "video", "shortvideo", "location", "link", "file", "miniprogrampage"}
)


@dataclass(frozen=True, slots=True)
class Inbound:
    """One message from a user, in the terms the dialogue uses.

    :param msg_key: the de-duplication key: ``MsgId``, or source+time+event for events.
    :param text: the user's text (voice recognition included); ``""`` otherwise.
    :param event: lower-case event name (``subscribe``, ``scan``, ``click``...).
    """

    openid: str
    account: str
    kind: Kind
    msg_type: str
    msg_key: str
    create_time: int
    text: str = ""
    event: str = ""
    event_key: str = ""
    channel: str = "official_account"


def to_inbound(xml_text: str, fields: dict[str, str], channel: str = "official_account") -> Inbound:
    """Parse ``xml_text`` (already checked by :mod:`bot.xmlsafe`) with wechatpy.

    :param fields: the flat tag→text map of the same document, for the raw wire values.
    :raises BadRequest: when the sender, receiver or type is missing.
    """
    _require(fields)
    try:
        message: BaseMessage = parse_message(xml_text)
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise BadRequest("wechatpy could not read the message") from exc
    content = str(getattr(message, "content", "") or "")
    recognition = str(getattr(message, "recognition", "") or "")
    return _build(fields, content, recognition, channel)


def from_json_fields(fields: dict[str, str], channel: str) -> Inbound:
    """Build an :class:`Inbound` from a JSON push (mini-program "JSON" data format).

    wechatpy parses XML only; the JSON push carries the same field names.
    """
    _require(fields)
    return _build(fields, fields.get("Content", ""), fields.get("Recognition", ""), channel)


def _require(fields: dict[str, str]) -> None:
    if not all(fields.get(name, "").strip() for name in ("FromUserName", "ToUserName", "MsgType")):
        raise BadRequest("missing FromUserName, ToUserName or MsgType")


def _build(fields: dict[str, str], content: str, recognition: str, channel: str) -> Inbound:
    openid = fields["FromUserName"].strip()
    account = fields["ToUserName"].strip()
    raw_type = fields["MsgType"].strip().lower()
    create_time = _int(fields.get("CreateTime"))
    msg_id = fields.get("MsgId", "").strip()
    event = fields.get("Event", "").strip().lower()
    key = msg_id if msg_id and msg_id != "0" else f"{openid}:{create_time}:{event or raw_type}"
    text, event_key = "", ""
    if raw_type == "text":
        kind, text = Kind.TEXT, content
    elif raw_type == "voice":
        text = recognition.strip()
        kind = Kind.TEXT if text else Kind.EMPTY_VOICE
    elif raw_type in _MEDIA_TYPES:
        kind = Kind.MEDIA
    elif raw_type == "event":
        kind = Kind.EVENT
        event_key = fields.get("EventKey", "").strip()
        if event == "subscribe" and event_key.startswith("qrscene_"):
            event_key = event_key[len("qrscene_") :]
    else:
        kind = Kind.UNKNOWN
    return Inbound(
        openid=openid,
        account=account,
        kind=kind,
        msg_type=raw_type,
        msg_key=key,
        create_time=create_time,
        text=text,
        event=event if kind is Kind.EVENT else "",
        event_key=event_key,
        channel=channel,
    )


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0
