"""The ``/wechat`` endpoint: verify → (decrypt) → parse → pipeline → (encrypt) → reply.

Order matters: the signature and timestamp are checked from the query string before the
body is read, and the body is checked by defusedxml before wechatpy parses it, so an
unverified or hostile request is refused before anything is parsed or stored.
"""

from __future__ import annotations

import logging
import re
import secrets
import time

from aiohttp import web

from .errors import BadRequest, Forbidden, PayloadTooLarge
from .inbound import to_inbound
from .keys import CLOCK, CRYPTO, PIPELINE, REQUEST_ID, SETTINGS, STORE
from .logs import user_ref
from .replies import render_passive
from .security import check_signature, check_timestamp
from .xmlsafe import parse_flat_xml

__all__ = ["healthz", "routes"]

log = logging.getLogger("wxloan.message")
routes = web.RouteTableDef()

_NONCE = re.compile(r"[A-Za-z0-9]{1,64}")
_ECHOSTR_MAX = 512


def _verify_query(request: web.Request) -> tuple[str, str]:
    """Check timestamp and signature of the query; return (timestamp, nonce)."""
    settings = request.app[SETTINGS]
    query = request.query
    timestamp = query.get("timestamp", "")
    nonce = query.get("nonce", "")
    check_signature((settings.token, timestamp, nonce), query.get("signature"))
    check_timestamp(timestamp, request.app[CLOCK](), settings.replay_window)
    return timestamp, nonce


@routes.get("/wechat")
async def verify_url(request: web.Request) -> web.Response:
    """WeChat's URL check: echo ``echostr`` when the signature is right."""
    _verify_query(request)
    echostr = request.query.get("echostr", "")
    if not echostr or len(echostr) > _ECHOSTR_MAX:
        raise BadRequest("missing or oversized echostr")
    return web.Response(text=echostr, content_type="text/plain")


async def _read_body(request: web.Request, limit: int) -> bytes:
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge("body too large")
    body = bytearray()
    async for chunk in request.content.iter_chunked(16384):
        body.extend(chunk)
        if len(body) > limit:
            raise PayloadTooLarge("body too large")
    return bytes(body)


@routes.post("/wechat")
async def receive(request: web.Request) -> web.Response:
    """Answer one pushed message in the mode it came in (plaintext, compatible or safe)."""
    started = time.monotonic()
    app = request.app
    settings = app[SETTINGS]
    timestamp, nonce = _verify_query(request)
    body = await _read_body(request, settings.max_body_bytes)
    encrypted = request.query.get("encrypt_type", "raw").lower() == "aes"
    key_index = 0
    if encrypted:
        crypto = app.get(CRYPTO)
        if crypto is None:
            raise Forbidden("encrypted message but no EncodingAESKey configured")
        envelope = parse_flat_xml(body)
        ciphertext = envelope.get("Encrypt", "")
        if not ciphertext:
            raise BadRequest("encrypted mode without <Encrypt>")
        check_signature(
            (settings.token, timestamp, nonce, ciphertext), request.query.get("msg_signature")
        )
        xml_text, key_index = crypto.decrypt(ciphertext)
        fields = parse_flat_xml(xml_text.encode("utf-8"))
    else:
        fields = parse_flat_xml(body)
        try:
            xml_text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadRequest("body is not UTF-8") from exc
    inbound = to_inbound(xml_text, fields)
    result = await app[PIPELINE].respond(inbound, started)
    now = app[CLOCK]()
    payload = render_passive(result.reply, inbound, now)
    if encrypted and payload != "success":
        reply_nonce = nonce if _NONCE.fullmatch(nonce) else secrets.token_hex(8)
        payload = app[CRYPTO].encrypt(payload, key_index, reply_nonce, str(int(now)))
    log.info(
        "message",
        extra={
            "fields": {
                "rid": request.get(REQUEST_ID),
                "user": user_ref(inbound.openid),
                "type": inbound.msg_type,
                "event": inbound.event or None,
                "mode": ("aes:" + app[CRYPTO].key_name(key_index)) if encrypted else "plain",
                "flow": result.flow,
                "outcome": result.outcome,
                "latency_ms": round((time.monotonic() - started) * 1000, 2),
            }
        },
    )
    if payload == "success":
        return web.Response(text="success", content_type="text/plain")
    return web.Response(text=payload, content_type="application/xml")


@routes.get("/healthz")
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
