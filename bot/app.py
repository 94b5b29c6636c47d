"""The composition root: :func:`create_app` wires settings, store, router and templates.

No logic lives here. Each resource is owned by one ``cleanup_ctx`` generator: code before
``yield`` starts it, code after tears it down, and teardown runs only if start-up worked.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Callable

import aiohttp
from aiohttp import web

from wxloan.handlers import DialogueServices, Router, build_dialogue, load_services
from wxloan.storage import describe, open_database

from .config import Settings
from .channels import MINIPROGRAM, OFFICIAL_ACCOUNT, channels_from
from .keys import CLOCK, PIPELINE, RELOAD, SETTINGS, STORE
from .metrics import NO_METRICS, PrometheusRecorder
from .middlewares import error_middleware
from .outbound import CustomerServiceSender, OutboundSender
from .pipeline import Pipeline, RetryWindow
from .webhook import channel_handlers, healthz
from .history import StoredHistory
from .wechat_api import OnlineAgents, WeChatApi

__all__ = ["create_app"]

log = logging.getLogger("wxloan.app")


def create_app(
    settings: Settings,
    *,
    router: Router | None = None,
    clock: Callable[[], float] = time.time,
    sender: OutboundSender | None = None,
    services: DialogueServices | None = None,
) -> web.Application:
    """Build the web application.

    :param router: the dialogue; defaults to :func:`handlers.build_router`.
    :param clock: wall-clock seconds; tests inject a fake one (session expiry, replay).
    :param sender: where late Official Account replies go; defaults to the customer-service
        API when an AppSecret is set, else to WeChat's own next delivery.
    :param services: knowledge and understanding; defaults to :func:`handlers.load_services`.
        Its ``agents`` (who can take a hand-off) becomes WeChat's online list, asked
        through the Official Account's API when an AppSecret is set.
    """
    agents = OnlineAgents(OFFICIAL_ACCOUNT)
    history = StoredHistory()
    dialogue = build_dialogue(
        router,
        dataclasses.replace(
            services or load_services(settings.knowledge_dir), agents=agents, history=history
        ),
    )
    app = web.Application(
        middlewares=[error_middleware], client_max_size=settings.max_body_bytes
    )
    app[SETTINGS] = settings
    app[CLOCK] = clock

    async def reload_knowledge() -> bool:
        """Load the knowledge folder again beside the running app and swap it in whole.

        Turns already under way finish on the data they started with; the next message
        reads the new data. An invalid folder is refused and logged, the old data stays.
        """
        from wxloan.knowledge.errors import DataError

        try:
            fresh = await asyncio.to_thread(load_services, settings.knowledge_dir)
        except (DataError, OSError, ValueError) as exc:
            problems = list(getattr(exc, "problems", ())) or [str(exc)]
            log.error("knowledge reload refused; the old data stays in use",
                      extra={"fields": {"source": str(settings.knowledge_dir or "shipped"),
                                        "problems": problems}})
            return False
        pipeline = app[PIPELINE]
        old = pipeline.dialogue.services
        pipeline.dialogue = build_dialogue(
            router, dataclasses.replace(fresh, agents=agents, history=history))
        log.info("knowledge reloaded", extra={"fields": {
            "source": fresh.source, "hash": fresh.data_hash, "previous_hash": old.data_hash}})
        return True

    app[RELOAD] = reload_knowledge
    channels = channels_from(settings)

    async def storage_ctx(app: web.Application) -> AsyncIterator[None]:
        store = await open_database(settings.db_target, pool_size=settings.db_pool_size)
        app[STORE] = store
        history.bind(store)
        if store.applied_migrations:
            log.info(
                "database migrated",
                extra={"fields": {"db": describe(settings.db_target),
                                  "migrations": store.applied_migrations}},
            )
        yield
        history.bind(None)
        await store.close()

    async def pipeline_ctx(app: web.Application) -> AsyncIterator[None]:
        store = app[STORE]
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:

            def api(app_id: str, secret: str) -> WeChatApi:
                return WeChatApi(session=http, store=store, api_base=settings.api_base,
                                 app_id=app_id, app_secret=secret, clock=clock)

            official = api(settings.app_id, settings.app_secret)
            senders: dict[str, OutboundSender] = {}
            if sender is not None:
                senders[OFFICIAL_ACCOUNT] = sender
            elif settings.outbound_enabled:
                senders[OFFICIAL_ACCOUNT] = CustomerServiceSender(official, store, clock)
            # else: no sender; a late reply rides on WeChat's next delivery (bot.pipeline)
            # The hand-off asks getonlinekflist; without an AppSecret it cannot tell.
            agents.bind(official if settings.outbound_enabled else None)
            if settings.miniprogram_enabled:
                senders[MINIPROGRAM] = CustomerServiceSender(
                    api(settings.wxa_app_id, settings.wxa_app_secret), store, clock
                )
            pipeline = Pipeline(
                store=store,
                dialogue=dialogue,
                senders=senders,
                reply_deadline=settings.reply_deadline,
                session_ttl=settings.session_ttl,
                clock=clock,
                passive_channels=frozenset(c.name for c in channels if c.passive),
                retry_window=RetryWindow(settings.wechat_timeout, settings.wechat_deliveries),
                metrics=NO_METRICS if settings.metrics_port is None else PrometheusRecorder(),
            )
            app[PIPELINE] = pipeline
            yield
            await pipeline.drain()
            agents.bind(None)

    app.cleanup_ctx.extend([storage_ctx, pipeline_ctx])
    for channel in channels:
        verify_url, receive = channel_handlers(channel)
        app.router.add_get(channel.path, verify_url)
        app.router.add_post(channel.path, receive)
    app.router.add_get("/healthz", healthz)
    return app
