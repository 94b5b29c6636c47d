"""The push endpoints: verify → (decrypt) → parse → pipeline → (encrypt) → reply.

Order matters: the signature and timestamp are checked from the query string before the
body is read, and the body is checked (defusedxml for XML, a plain JSON object for JSON)
before anything is interpreted, so an unverified or hostile request is refused before
anything is parsed or stored. One implementation serves every :class:`~bot.channels.Channel`.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from .channels import Channel
from .errors import BadRequest, Forbidden, PayloadTooLarge
from .inbound import Inbound, from_json_fields, to_inbound
from .keys import CLOCK, PIPELINE, REQUEST_ID, SETTINGS, STORE
from .logs import user_ref
from .replies import render_passive, render_passive_json
from .security import check_signature, check_timestamp
from .xmlsafe import parse_flat_xml

__all__ = ["channel_handlers", "healthz"]

log = logging.getLogger("wxloan.message")

_NONCE = re.compile(r"[A-Za-z0-9]{1,64}")
_ECHOSTR_MAX = 512

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


def _parse_json_fields(body: bytes | str) -> dict[str, str]:
    """A flat JSON object → ``{key: text}``; nested values are dropped."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("malformed JSON") from exc
    if not isinstance(data, dict):
        raise BadRequest("JSON body is not an object")
    return {
        str(key): str(value)
        for key, value in data.items()
        if isinstance(value, (str, int, float)) and not isinstance(value, bool)
    }


def _parse_fields(body: bytes | str, allow_json: bool) -> tuple[dict[str, str], bool]:
    if allow_json and _is_json(body):
        return _parse_json_fields(body), True
    return parse_flat_xml(body), False


def _to_inbound(payload: str, fields: dict[str, str], is_json: bool, channel: Channel) -> Inbound:
    if is_json:
        return from_json_fields(fields, channel.name)
    return to_inbound(payload, fields, channel.name)


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
            try:
                payload = body.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise BadRequest("body is not UTF-8") from exc
        inbound = _to_inbound(payload, fields, is_json, channel)
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
        if answer == "success":
            return web.Response(text="success", content_type="text/plain")
        content_type = "application/json" if is_json else "application/xml"
        return web.Response(text=answer, content_type=content_type)

    return verify_url, receive


async def healthz(request: web.Request) -> web.Response:
    """Liveness and a database round trip, for load balancers and operators."""
    try:
        database_ok = await request.app[STORE].ping()
    except Exception:  # any database failure means "not healthy", never a crash
        database_ok = False
    body = {
        "status": "ok" if database_ok else "degraded",
        "database": "ok" if database_ok else "error",
        "in_flight": request.app[PIPELINE].in_flight,
    }
    return web.json_response(body, status=200 if database_ok else 503)
