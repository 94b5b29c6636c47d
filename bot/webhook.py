"""The push endpoints: verify → (decrypt) → parse → pipeline → (encrypt) → reply.

Order matters: the signature and timestamp are checked from the query string before the
body is read, and each body is parsed exactly once (defusedxml for XML, a plain JSON
object for JSON) into flat fields before anything is interpreted, so an unverified or
hostile request is refused before anything is stored. A signed body that cannot be read
is a 400 (or 413 when too large), never a 5xx. One implementation serves every
:class:`~bot.channels.Channel`.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from wxloan import __version__

from .channels import Channel
from .errors import BadRequest, Forbidden, PayloadTooLarge, RequestRejected
from .inbound import TEXT_FIELDS, Inbound, from_fields
from .keys import CLOCK, PIPELINE, REQUEST_ID, SETTINGS, STORE
from .logs import user_ref
from .replies import render_passive, render_passive_json
from .security import check_signature, check_timestamp
from .xmlsafe import parse_flat_xml

__all__ = ["TEMPLATES_HEADER", "channel_handlers", "healthz"]

#: Test mode only (``Settings.expose_templates``): the templates a reply was rendered from,
#: so conversation tests assert what a reply means rather than how it is worded.
TEMPLATES_HEADER = "X-Wxloan-Templates"

log = logging.getLogger("wxloan.message")

_NONCE = re.compile(r"[A-Za-z0-9]{1,64}")
_ECHOSTR_MAX = 512
#: Tags that must hold text: the message's (see bot.inbound) and the safe-mode envelope's.
_TEXT_TAGS = TEXT_FIELDS | {"Encrypt"}

Handler = Callable[[web.Request], Awaitable[web.Response]]


def _verify_query(request: web.Request, channel: Channel) -> tuple[str, str]:
    """Check timestamp and signature of the query; return (timestamp, nonce)."""
    query = request.query
    timestamp = query.get("timestamp", "")
    nonce = query.get("nonce", "")
    check_signature((channel.token, timestamp, nonce), query.get("signature"))
    check_timestamp(timestamp, request.app[CLOCK](), request.app[SETTINGS].replay_window)
    return timestamp, nonce


async def _read_body(request: web.Request, limit: int) -> bytes:
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge("body too large")
    body = bytearray()
    async for chunk in request.content.iter_chunked(16384):
        body.extend(chunk)
        if len(body) > limit:
            raise PayloadTooLarge("body too large")
    return bytes(body)


def _is_json(body: bytes | str) -> bool:
    head = body.lstrip()[:1]
    return head in (b"{", "{")


class _Pairs(list[tuple[str, object]]):
    """A JSON object as its key/value pairs (keeps duplicates visible)."""


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _parse_json_fields(body: bytes | str) -> dict[str, str]:
    """A flat JSON object → ``{key: text}``; nested values are dropped.

    Refused (400): not UTF-8, not RFC 8259 JSON (``NaN``, ``Infinity``), nested deeper
    than the interpreter recurses, an integer over Python's digit limit, a top-level key
    twice, an object or array where a text field (:data:`_TEXT_TAGS`) is expected, and
    a lone surrogate (``"\\udcff"``, which no UTF-8 store or reply could carry).
    """
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        data = json.loads(text, object_pairs_hook=_Pairs, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise BadRequest("malformed JSON") from exc
    if not isinstance(data, _Pairs):
        raise BadRequest("JSON body is not an object")
    fields: dict[str, str] = {}
    seen: set[str] = set()
    for key, value in data:
        if key in seen:
            raise BadRequest("the same JSON key twice")
        seen.add(key)
        if isinstance(value, str):
            pass
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        elif key in _TEXT_TAGS and isinstance(value, list):  # _Pairs is a list too
            raise BadRequest(f"{key} holds an object or array instead of text")
        else:
            continue
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise BadRequest("JSON string is not valid Unicode") from exc
        fields[key] = value
    return fields


def _unreadable(exc: Exception) -> BadRequest:
    """The safety net: a body our parsers cannot read is a 400, never a 500."""
    log.error("unexpected parse failure", exc_info=exc)
    return BadRequest("unreadable body")


def _parse_fields(body: bytes | str, allow_json: bool) -> tuple[dict[str, str], bool]:
    """Parse ``body`` once (JSON when allowed and it looks like JSON, else XML).

    :raises RequestRejected: only; any other failure is logged and becomes a 400.
    """
    try:
        if allow_json and _is_json(body):
            return _parse_json_fields(body), True
        return parse_flat_xml(body, _TEXT_TAGS), False
    except RequestRejected:
        raise
    except Exception as exc:  # a bug in parsing must not answer a signed push with a 500
        raise _unreadable(exc) from exc


def _to_inbound(fields: dict[str, str], channel: Channel) -> Inbound:
    """The typed message of ``fields`` (the same for XML and JSON pushes)."""
    try:
        return from_fields(fields, channel.name)
    except RequestRejected:
        raise
    except Exception as exc:  # see _parse_fields
        raise _unreadable(exc) from exc


def channel_handlers(channel: Channel) -> tuple[Handler, Handler]:
    """The GET (URL check) and POST (message push) handlers of ``channel``."""
    allow_json = not channel.passive

    async def verify_url(request: web.Request) -> web.Response:
        """WeChat's URL check: echo ``echostr`` when the signature is right."""
        _verify_query(request, channel)
        echostr = request.query.get("echostr", "")
        if not echostr or len(echostr) > _ECHOSTR_MAX:
            raise BadRequest("missing or oversized echostr")
        return web.Response(text=echostr, content_type="text/plain")

    async def receive(request: web.Request) -> web.Response:
        """Answer one pushed message in the mode (and format) it came in."""
        started = time.monotonic()
        app = request.app
        timestamp, nonce = _verify_query(request, channel)
        body = await _read_body(request, app[SETTINGS].max_body_bytes)
        encrypted = request.query.get("encrypt_type", "raw").lower() == "aes"
        key_index = 0
        if encrypted:
            if channel.crypto is None:
                raise Forbidden("encrypted message but no EncodingAESKey configured")
            envelope, is_json = _parse_fields(body, allow_json)
            ciphertext = envelope.get("Encrypt", "")
            if not ciphertext:
                raise BadRequest("encrypted mode without Encrypt")
            check_signature(
                (channel.token, timestamp, nonce, ciphertext), request.query.get("msg_signature")
            )
            payload, key_index = channel.crypto.decrypt(ciphertext)
            fields, is_json = _parse_fields(payload, allow_json)
        else:
            fields, is_json = _parse_fields(body, allow_json)
        inbound = _to_inbound(fields, channel)
        result = await app[PIPELINE].respond(inbound, started)
        now = app[CLOCK]()
        if is_json:
            answer = render_passive_json(result.reply, inbound, now)
        elif channel.passive or result.reply.kind == "transfer":
            answer = render_passive(result.reply, inbound, now)
        else:
            answer = "success"
        if encrypted and answer != "success":
            assert channel.crypto is not None
            reply_nonce = nonce if _NONCE.fullmatch(nonce) else secrets.token_hex(8)
            seal = channel.crypto.encrypt_json if is_json else channel.crypto.encrypt
            answer = seal(answer, key_index, reply_nonce, str(int(now)))
        log.info(
            "message",
            extra={
                "fields": {
                    "rid": request.get(REQUEST_ID),
                    "channel": channel.name,
                    "user": user_ref(inbound.openid),
                    "type": inbound.msg_type,
                    "event": inbound.event or None,
                    "format": "json" if is_json else "xml",
                    "mode": (
                        "aes:" + channel.crypto.key_name(key_index)
                        if encrypted and channel.crypto
                        else "plain"
                    ),
                    "flow": result.flow,
                    "outcome": result.outcome,
                    "latency_ms": round((time.monotonic() - started) * 1000, 2),
                }
            },
        )
        headers = (
            {TEMPLATES_HEADER: ",".join(result.templates)}
            if app[SETTINGS].expose_templates
            else None
        )
        if answer == "success":
            return web.Response(text="success", content_type="text/plain", headers=headers)
        content_type = "application/json" if is_json else "application/xml"
        return web.Response(text=answer, content_type=content_type, headers=headers)

    return verify_url, receive


async def healthz(request: web.Request) -> web.Response:
    """Liveness and a database round trip, for load balancers and operators."""
    try:
        database_ok = await request.app[STORE].ping()
    except Exception:  # any database failure means "not healthy", never a crash
        database_ok = False
    pipeline = request.app[PIPELINE]
    services = pipeline.dialogue.services
    body = {
        "status": "ok" if database_ok else "degraded",
        "database": "ok" if database_ok else "error",
        "in_flight": pipeline.in_flight,
        "version": __version__,
        "knowledge": {"hash": services.data_hash, "source": services.source},
    }
    return web.json_response(body, status=200 if database_ok else 503)
