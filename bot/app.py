"""The composition root: :func:`create_app` wires settings, store, router and templates.

No logic lives here. Each resource is owned by one ``cleanup_ctx`` generator: code before
``yield`` starts it, code after tears it down, and teardown runs only if start-up worked.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from storage import open_store

from .config import Settings
from .context import Services
from .keys import CLOCK, CRYPTO, PIPELINE, SETTINGS, STORE
from .middlewares import error_middleware
from .outbound import KeepForRetrySender, OutboundSender
from .pipeline import Pipeline
from .routing import Router
from .security import MessageCrypto
from .templating import Renderer
from .webhook import routes

__all__ = ["create_app"]

log = logging.getLogger("wxloan.app")


def create_app(
    settings: Settings,
    *,
    router: Router | None = None,
    clock: Callable[[], float] = time.time,
    sender: OutboundSender | None = None,
    services: Services | None = None,
) -> web.Application:
    """Build the web application.

    :param router: the dialogue; defaults to :func:`handlers.build_router`.
    :param clock: wall-clock seconds; tests inject a fake one (session expiry, replay).
    :param sender: where late replies go; defaults to keeping them for WeChat's retry.
    :param services: knowledge and understanding; defaults to :func:`handlers.load_services`.
    """
    if router is None or services is None:
        from handlers import build_router, load_services

        router = router or build_router()
        services = services if services is not None else load_services()
    app = web.Application(
        middlewares=[error_middleware], client_max_size=settings.max_body_bytes
    )
    app[SETTINGS] = settings
    app[CLOCK] = clock
    if settings.aes_key:
        app[CRYPTO] = MessageCrypto(
            settings.token, settings.app_id, settings.aes_key, settings.aes_key_previous
        )
    renderer = Renderer()
    chosen_sender: OutboundSender = sender or KeepForRetrySender()

    async def storage_ctx(app: web.Application) -> AsyncIterator[None]:
        store = await open_store(settings.db_path)
        app[STORE] = store
        if store.applied_migrations:
            log.info(
                "database migrated",
                extra={"fields": {"db": str(settings.db_path),
                                  "migrations": store.applied_migrations}},
            )
        yield
        await store.close()

    async def pipeline_ctx(app: web.Application) -> AsyncIterator[None]:
        pipeline = Pipeline(
            store=app[STORE],
            router=router,
            renderer=renderer,
            sender=chosen_sender,
            reply_deadline=settings.reply_deadline,
            session_ttl=settings.session_ttl,
            clock=clock,
            services=services,
        )
        app[PIPELINE] = pipeline
        yield
        await pipeline.drain()

    app.cleanup_ctx.extend([storage_ctx, pipeline_ctx])
    app.add_routes(routes)
    return app
