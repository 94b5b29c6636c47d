"""Prometheus metrics (``WXLOAN_METRICS_PORT``): what they are and how the pipeline counts.

The metrics are the official ``prometheus-client``'s, always in its multiprocess mode when
enabled, so ``--workers N`` adds up: before any worker starts, the serving process (the
supervisor, or the one process of ``--workers 1``) calls :func:`use_multiprocess_dir`,
which empties the folder and points every metric at it; each process writes its values
to its own memory-mapped files there, the supervisor calls :func:`process_dead` when a
worker exits (its live gauge goes, its counts stay), and ``/metrics`` is served by that
same parent process from a :class:`MultiProcessCollector` registry (:func:`registry`).

The pipeline calls one :class:`Recorder` per app: :data:`NO_METRICS` (does nothing) when
metrics are off, :class:`PrometheusRecorder` when on. The labelled children are cached
by their label values, so a message costs a few dict look-ups and mmap writes.
"""

from __future__ import annotations

import errno
import glob
import os
import socket
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    make_wsgi_app,
    multiprocess,
    values,
)
from prometheus_client.metrics import MetricWrapperBase

from .errors import StartupError

__all__ = [
    "DUPLICATES", "FALLBACKS", "HANDOFFS", "INTENTS", "IN_FLIGHT", "LATE_REPLIES",
    "MESSAGES", "NO_METRICS", "OUTBOUND", "REPLY_SECONDS", "SCAM_WARNINGS",
    "MetricsServer", "PrometheusRecorder", "Recorder", "bind_metrics_socket",
    "metrics_app", "process_dead", "registry", "use_multiprocess_dir",
]

MESSAGES = Counter(
    "wxloan_messages_total", "Messages answered, by channel, message kind and outcome "
    "(reply, transfer, silent, duplicate, late, error).", ["channel", "kind", "outcome"])
REPLY_SECONDS = Histogram(
    "wxloan_reply_seconds", "Seconds from a push's arrival until its answer was ready.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 4.5, 5.0, 10.0, 15.0))
INTENTS = Counter(
    "wxloan_intents_total", "Text messages by the intent read first (none: no intent).",
    ["intent"])
FALLBACKS = Counter("wxloan_fallbacks_total", "Text messages no feature understood.")
SCAM_WARNINGS = Counter(
    "wxloan_scam_warnings_total", "Scam answers by pattern (general: a warning naming "
    "none; aftermath: what to do after a loss).", ["pattern"])
HANDOFFS = Counter("wxloan_handoffs_total", "Hand-offs to a person started.")
DUPLICATES = Counter(
    "wxloan_duplicates_total", "Deliveries of a message already being or already answered.")
LATE_REPLIES = Counter(
    "wxloan_late_replies_total", "Deliveries answered 'success' because the reply missed "
    "the deadline.")
OUTBOUND = Counter(
    "wxloan_outbound_total", "Customer-service API sends, by status (sent, failed).",
    ["status"])
IN_FLIGHT = Gauge(
    "wxloan_in_flight", "Messages being processed now.", multiprocess_mode="livesum")

_METRICS: tuple[MetricWrapperBase, ...] = (
    MESSAGES, REPLY_SECONDS, INTENTS, FALLBACKS, SCAM_WARNINGS, HANDOFFS, DUPLICATES,
    LATE_REPLIES, OUTBOUND, IN_FLIGHT,
)


class Recorder:
    """What the pipeline reports; this base records nothing (metrics off)."""

    def message(self, channel: str, kind: str, outcome: str, seconds: float) -> None:
        """One delivery answered (``outcome`` as in :class:`~bot.pipeline.Result`)."""

    def turn(self, intent: str | None, fallback: bool, scam: tuple[str, ...],
             handoff: bool) -> None:
        """One committed turn; ``intent`` is None for anything but text."""

    def outbound(self, sent: bool) -> None:
        """One customer-service API send."""

    def started(self) -> None:
        """A message began processing."""

    def finished(self) -> None:
        """A message finished processing."""


NO_METRICS = Recorder()


class PrometheusRecorder(Recorder):
    """Records into the module's metrics (build it after :func:`use_multiprocess_dir`)."""

    def __init__(self) -> None:
        self._messages: dict[tuple[str, str, str], Any] = {}
        self._intents: dict[str, Any] = {}
        self._scams: dict[str, Any] = {}
        self._sent = OUTBOUND.labels("sent")
        self._failed = OUTBOUND.labels("failed")

    def message(self, channel: str, kind: str, outcome: str, seconds: float) -> None:
        key = (channel, kind, outcome)
        child = self._messages.get(key)
        if child is None:
            child = self._messages[key] = MESSAGES.labels(*key)
        child.inc()
        REPLY_SECONDS.observe(seconds)
        if outcome == "duplicate":
            DUPLICATES.inc()
        elif outcome == "late":
            LATE_REPLIES.inc()

    def turn(self, intent: str | None, fallback: bool, scam: tuple[str, ...],
             handoff: bool) -> None:
        if intent is not None:
            child = self._intents.get(intent)
            if child is None:
                child = self._intents[intent] = INTENTS.labels(intent)
            child.inc()
        if fallback:
            FALLBACKS.inc()
        for pattern in scam:
            counter = self._scams.get(pattern)
            if counter is None:
                counter = self._scams[pattern] = SCAM_WARNINGS.labels(pattern)
            counter.inc()
        if handoff:
            HANDOFFS.inc()

    def outbound(self, sent: bool) -> None:
        (self._sent if sent else self._failed).inc()

    def started(self) -> None:
        IN_FLIGHT.inc()

    def finished(self) -> None:
        IN_FLIGHT.dec()


# -- multiprocess mode --------------------------------------------------------------------

_ENV = "PROMETHEUS_MULTIPROC_DIR"


def use_multiprocess_dir(path: str) -> None:
    """Empty ``path`` and make every metric of this process (and of its forks) write there.

    prometheus-client picks its value class when it is first imported, from
    ``PROMETHEUS_MULTIPROC_DIR``; the module's metrics exist by then, so the class is
    swapped here and their values are made again (labelled ones lose their children, the
    rest get fresh values), before any worker is forked.
    """
    os.makedirs(path, exist_ok=True)
    for stale in glob.glob(os.path.join(path, "*.db")):
        os.remove(stale)
    for metric in _METRICS:  # before the variable is set: clear() warns in that mode
        metric.clear()
    os.environ[_ENV] = path
    values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]
    for metric in _METRICS:
        if not metric._labelnames:
            metric._metric_init()  # type: ignore[no-untyped-call]


def process_dead(pid: int) -> None:
    """A worker exited: drop its live gauge (``wxloan_in_flight``); its counts stay."""
    path = os.environ.get(_ENV)
    if path:
        multiprocess.mark_process_dead(pid, path)  # type: ignore[no-untyped-call]


def registry() -> CollectorRegistry:
    """A registry that adds up every process's files in the multiprocess folder."""
    collected = CollectorRegistry()
    multiprocess.MultiProcessCollector(collected)  # type: ignore[no-untyped-call]
    return collected


# -- the endpoint ------------------------------------------------------------------------


def _where(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def bind_metrics_socket(host: str, port: int) -> socket.socket:
    """The bound, listening socket of ``/metrics``; a clear :class:`StartupError` if not."""
    try:
        infos = socket.getaddrinfo(host, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0,
                                   socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        raise StartupError(f"--metrics-host: cannot listen on {host!r}: {exc}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(16)
    except OSError as exc:
        sock.close()
        where = _where(host, port)
        if exc.errno == errno.EADDRINUSE:
            raise StartupError(f"--metrics-port: {where} is already in use") from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise StartupError(
                f"--metrics-host: {host} is not an address of this machine") from None
        raise StartupError(
            f"--metrics-port: cannot listen on {where}: {exc.strerror or exc}") from None
    sock.set_inheritable(False)
    return sock


def metrics_app() -> Any:
    """The aiohttp app serving ``/metrics`` (the single process, on its event loop)."""
    from aiohttp import web

    collected = registry()

    async def scrape(_request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(collected),
                            headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/metrics", scrape)
    return app


class _QuietHandler(WSGIRequestHandler):
    #: a client that stalls cannot hold the supervisor longer than this (seconds)
    timeout = 2.0

    def log_message(self, format: str, *args: Any) -> None:
        pass


class MetricsServer:
    """``/metrics`` in the supervisor, one request at a time on its own loop.

    No thread: the supervisor forks workers, and a fork while another thread holds a
    lock is how children deadlock. It waits on :attr:`fileno` with the workers'
    sentinels and calls :meth:`handle` when a scraper connects.
    """

    def __init__(self, sock: socket.socket) -> None:
        server = WSGIServer(sock.getsockname()[:2], _QuietHandler, bind_and_activate=False)
        server.socket.close()
        server.socket = sock
        server.server_address = sock.getsockname()
        server.server_name, server.server_port = str(sock.getsockname()[0]), sock.getsockname()[1]
        server.setup_environ()
        server.set_app(make_wsgi_app(registry()))
        server.timeout = 0
        self._server = server

    def fileno(self) -> int:
        return self._server.fileno()

    def handle(self) -> None:
        """Answer the connection that is waiting (returns at once if there is none)."""
        self._server.handle_request()

    def close(self) -> None:
        self._server.server_close()

