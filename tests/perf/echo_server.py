"""The baseline: the least any WeChat bot must do, with aiohttp and wechatpy.

Verify the signature, decrypt (safe mode), parse, echo the text back, encrypt. No state,
no dialogue. ``python -m tests.perf.echo_server --port 8091`` with WECHAT_TOKEN,
WECHAT_APP_ID and WECHAT_ENCODING_AES_KEY in the environment.
"""

from __future__ import annotations

import argparse
import os

from aiohttp import web
from wechatpy import create_reply, parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.utils import check_signature

TOKEN = os.environ["WECHAT_TOKEN"]
CRYPTO = WeChatCrypto(TOKEN, os.environ["WECHAT_ENCODING_AES_KEY"], os.environ["WECHAT_APP_ID"])


async def wechat(request: web.Request) -> web.Response:
    q = request.query
    try:
        check_signature(TOKEN, q.get("signature", ""), q.get("timestamp", ""), q.get("nonce", ""))
    except InvalidSignatureException:
        return web.Response(status=403)
    body = await request.read()
    safe = q.get("encrypt_type") == "aes"
    if safe:
        try:
            body = CRYPTO.decrypt_message(body, q["msg_signature"], q["timestamp"], q["nonce"])
        except (InvalidSignatureException, InvalidAppIdException):
            return web.Response(status=403)
    message = parse_message(body)
    reply = create_reply(getattr(message, "content", "") or "success", message).render()
    if safe:
        reply = CRYPTO.encrypt_message(reply, q["nonce"], q["timestamp"])
    return web.Response(text=reply, content_type="application/xml")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8091)
    args = parser.parse_args()
    app = web.Application()
    app.router.add_post("/wechat", wechat)
    app.router.add_get("/healthz", lambda r: web.json_response({"status": "ok"}))
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
