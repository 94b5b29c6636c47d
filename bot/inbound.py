"""From the flat fields of a verified push to one typed :class:`Inbound` message.

Why our own type table and not wechatpy's ``parse_message``: the body has already been
parsed once, safely, by :mod:`bot.xmlsafe` (or as JSON); parsing it a second time with
wechatpy's xmltodict cost as much again and crashed on hostile shapes (deeply nested
``Content``, undecodable base64 in ``device_text``). The idea is kept from wechatpy:
a registry from ``MsgType`` to a reader (:data:`_READERS`, like its ``MESSAGE_TYPES``)
and a fallback for every type we do not know (like its ``UnknownMessage``), so a type
WeChat adds tomorrow is answered ``success``, never a crash.

The wire names we read, and what they become:

============  ===============================================================
FromUserName  ``openid`` (required)
ToUserName    ``account`` (required)
MsgType       ``msg_type``, lower-cased (required); picks the reader
CreateTime    ``create_time``; not a number → 0
MsgId         ``msg_key``; events have none: source + time + event instead
Content       ``text`` of ``text`` messages, whitespace-stripped
Recognition   ``text`` of ``voice`` messages; empty → :attr:`Kind.EMPTY_VOICE`
Event         ``event``, lower-cased, for ``event`` messages
EventKey      ``event_key``; ``qrscene_`` stripped on ``subscribe``
============  ===============================================================

Device messages (``device_text``, ``device_event``) are unknown types to the dialogue:
their base64 ``Content`` is never decoded, so a bad one cannot fail anything.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from wxloan.handlers.contract import Kind, Message

from .errors import BadRequest

__all__ = ["ID_FIELDS", "TEXT_FIELDS", "Inbound", "Kind", "from_fields"]


_MEDIA_TYPES = frozenset(
    {"image", "video", "shortvideo", "location", "link", "file", "miniprogrampage"}
)

#: Identity fields: required or used as keys, so short. Over :data:`ID_MAX` → 400.
ID_FIELDS = ("FromUserName", "ToUserName", "MsgType", "CreateTime", "MsgId", "Event")
#: Longest identity field accepted (WeChat's openids are 28 characters, MsgIds 20 digits).
ID_MAX = 128
#: Every field read as text: holding elements (XML) or an object/array (JSON) is malformed.
TEXT_FIELDS = frozenset({*ID_FIELDS, "Content", "Recognition", "EventKey"})
_REQUIRED = ("FromUserName", "ToUserName", "MsgType")


@dataclass(frozen=True, slots=True, kw_only=True)
class Inbound(Message):
    """A :class:`~wxloan.handlers.contract.Message` plus what the transport needs of it.

    :param msg_key: the de-duplication key: ``MsgId``, or source+time+event for events.
    :param account: the Official Account / mini-program the message was sent to.
    """

    account: str
    msg_key: str
    create_time: int


#: What a reader makes of one message type: (kind, text, event_key).
_Read = tuple[Kind, str, str]
_Reader = Callable[[Mapping[str, str], str], _Read]


def _text(fields: Mapping[str, str], event: str) -> _Read:
    return Kind.TEXT, fields.get("Content", "").strip(), ""


def _voice(fields: Mapping[str, str], event: str) -> _Read:
    text = fields.get("Recognition", "").strip()
    return (Kind.TEXT if text else Kind.EMPTY_VOICE), text, ""


def _media(fields: Mapping[str, str], event: str) -> _Read:
    return Kind.MEDIA, "", ""


def _event(fields: Mapping[str, str], event: str) -> _Read:
    event_key = fields.get("EventKey", "").strip()
    if event == "subscribe" and event_key.startswith("qrscene_"):
        event_key = event_key[len("qrscene_") :]
    return Kind.EVENT, "", event_key


def _unknown(fields: Mapping[str, str], event: str) -> _Read:
    return Kind.UNKNOWN, "", ""


#: ``MsgType`` → reader; anything else (``device_text``, ``hologram``...) → :func:`_unknown`.
_READERS: dict[str, _Reader] = {
    "text": _text,
    "voice": _voice,
    "event": _event,
    **{msg_type: _media for msg_type in _MEDIA_TYPES},
}


def from_fields(fields: Mapping[str, str], channel: str = "official_account") -> Inbound:
    """Build an :class:`Inbound` from the flat fields of one push (XML or JSON alike).

    :param fields: ``{wire name: text}``, as :func:`bot.xmlsafe.parse_flat_xml` returns.
    :raises BadRequest: when the sender, receiver or type is missing, or an identity
        field is longer than :data:`ID_MAX`.
    """
    for name in _REQUIRED:
        if not fields.get(name, "").strip():
            raise BadRequest("missing FromUserName, ToUserName or MsgType")
    for name in ID_FIELDS:
        if len(fields.get(name, "")) > ID_MAX:
            raise BadRequest(f"{name} is too long")
    openid = fields["FromUserName"].strip()
    account = fields["ToUserName"].strip()
    raw_type = fields["MsgType"].strip().lower()
    create_time = _int(fields.get("CreateTime"))
    msg_id = fields.get("MsgId", "").strip()
    event = fields.get("Event", "").strip().lower()
    key = msg_id if msg_id and msg_id != "0" else f"{openid}:{create_time}:{event or raw_type}"
    kind, text, event_key = _READERS.get(raw_type, _unknown)(fields, event)
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
