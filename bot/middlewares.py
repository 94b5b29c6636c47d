"""Request ids, and the one place where errors become HTTP answers."""

from __future__ import annotations

import itertools
import logging
import os

from aiohttp import web
from aiohttp.typedefs import Handler

from .errors import RequestRejected
from .keys import REQUEST_ID

__all__ = ["error_middleware"]

log = logging.getLogger("wxloan.http")

# Request ids: the process id, a random prefix and a counter. Unique across worker
# processes and cheap (os.urandom per request showed up in the benchmark profile).
_COUNTER = itertools.count()
_PREFIX: dict[int, str] = {}


def _request_id() -> str:
    pid = os.getpid()
    prefix = _PREFIX.get(pid)
    if prefix is None:  # first request in this (possibly forked) process
        prefix = _PREFIX[pid] = f"{pid:x}{os.urandom(2).hex()}"
    return f"{prefix}-{next(_COUNTER):x}"

@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Tag the request with an id; map refusals to 4xx and crashes to a logged 500."""
    request_id = _request_id()
    request[REQUEST_ID] = request_id
    try:
        return await handler(request)
    except RequestRejected as exc:
        log.warning(
            "request refused",
            extra={
                "fields": {
                    "rid": request_id,
                    "path": request.path,
                    "status": exc.status,
                    "reason": exc.reason,
                }
            },
        )
        return web.Response(status=exc.status, text=f"{exc.status} {exc.reason}\n")
    except web.HTTPException as exc:
        if exc.status == 413:
            log.warning(
                "request refused",
                extra={"fields": {"rid": request_id, "path": request.path, "status": 413,
                                  "reason": "body too large"}},
            )
        raise
    except Exception:
        log.exception("unhandled error", extra={"fields": {"rid": request_id, "path": request.path}})
        return web.Response(status=500, text="500 internal error\n")
