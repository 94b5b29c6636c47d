"""Running ``wxloan serve``: one worker in-process, or N forked workers under a supervisor.

A worker is the web app on the port until SIGTERM or SIGINT; then it stops accepting,
lets in-flight turns finish (aiohttp's graceful shutdown, then the app's cleanup, which
drains the pipeline), logs nothing more and exits 0.

With ``--workers N`` the supervisor forks N workers (each binds the port with
``SO_REUSEPORT``), logs ``wxloan serving`` once all of them are listening, and then:

- restarts a worker that dies, logging its pid and exit code or signal, after a delay of
  0.5 s that doubles for each further death of that worker within ``stable_after`` (10 s)
  of its start, up to 30 s;
- gives up (stops the others, raises :class:`~bot.errors.WorkersFailed`) after
  ``3 × N`` deaths in a row with no ``stable_after`` stretch free of deaths and restarts;
- on SIGTERM or SIGINT sends SIGTERM to every worker, waits for them, logs ``stopped``
  and returns 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from typing import Any

from aiohttp import web

from .app import create_app
from .keys import RELOAD
from .config import Settings
from .errors import ConfigError, StartupError, WorkersFailed
from .metrics import MetricsServer, metrics_app, process_dead
from .startup import bind_sockets, check_db_path, db_error, is_db_error

__all__ = ["Supervisor", "log_serving", "run_single"]

log = logging.getLogger("wxloan.serve")

_STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}
#: blocked while a worker starts, so none arrives before its handler (SIGHUP would kill)
_WORKER_SIGNALS = _STOP_SIGNALS | {signal.SIGHUP}
#: seconds in-flight requests get to finish at shutdown (a reply is due within 5 s anyway)
SHUTDOWN_TIMEOUT = 10.0


def log_serving(settings: Settings, workers: int, pids: list[int]) -> None:
    """The one ``wxloan serving`` line: logged once the port is bound and the DB is open."""
    modes = ["plaintext"]
    if settings.safe_mode_enabled:
        modes += ["compatible", "safe"]
    channels = ["official_account"]
    if settings.miniprogram_enabled:
        channels.append("miniprogram")
    base = f"http://{settings.host}:{settings.port}"
    log.info(
        "wxloan serving",
        extra={
            "fields": {
                "url": f"{base}/wechat",
                "health": f"{base}/healthz",
                "metrics": (None if settings.metrics_port is None else
                            f"http://{_host(settings.metrics_host)}:{settings.metrics_port}/metrics"),
                "channels": channels,
                "miniprogram_url": f"{base}/miniprogram" if settings.miniprogram_enabled else None,
                "api_delivery": settings.outbound_enabled,
                "api_base": settings.api_base,
                "modes": modes,
                "key_rotation": bool(settings.aes_key_previous),
                "db": (settings.database.redacted() if settings.database is not None
                       else str(settings.db_path.resolve())),
                "reply_deadline_s": settings.reply_deadline,
                "token": "generated" if settings.token_generated else "configured",
                "workers": workers,
                "pids": pids,
            }
        },
    )


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


async def _serve_app(
    settings: Settings, sockets: list[socket.socket], on_ready: Callable[[], None],
    metrics_socket: socket.socket | None = None,
) -> str:
    """Serve on ``sockets`` until SIGTERM/SIGINT; return the signal's name."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    received: list[str] = []

    def request_stop(signum: signal.Signals) -> None:
        received.append(signum.name)
        stop.set()

    for signum in _STOP_SIGNALS:
        loop.add_signal_handler(signum, request_stop, signum)
    app = create_app(settings)
    reloads: set[asyncio.Task[bool]] = set()

    def request_reload() -> None:  # SIGHUP: the knowledge data again, beside the serving
        task = loop.create_task(app[RELOAD]())
        reloads.add(task)
        task.add_done_callback(reloads.discard)

    loop.add_signal_handler(signal.SIGHUP, request_reload)
    # A forked worker starts with these blocked (see Supervisor._start): one sent while it
    # was starting is delivered now, to the handlers above.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _WORKER_SIGNALS)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT)
    try:
        await runner.setup()  # opens the database (the app's cleanup_ctx)
    except Exception as exc:
        if is_db_error(settings.db_target, exc):
            raise db_error(settings.db_target, exc) from None
        raise
    metrics = None if metrics_socket is None else web.AppRunner(metrics_app(), access_log=None)
    try:
        for sock in sockets:
            await web.SockSite(runner, sock).start()
        if metrics is not None and metrics_socket is not None:
            await metrics.setup()
            await web.SockSite(metrics, metrics_socket).start()
        _tune_collector()
        on_ready()
        await stop.wait()
    finally:
        await runner.cleanup()  # stop accepting, finish in-flight turns, drain, close
        if metrics is not None:
            await metrics.cleanup()
    return received[0]


def run_single(settings: Settings, sockets: list[socket.socket],
               metrics_socket: socket.socket | None = None) -> int:
    """``--workers 1``: serve in this process on the already bound ``sockets``
    (and ``/metrics`` on ``metrics_socket``)."""
    stopped_by = asyncio.run(
        _serve_app(settings, sockets, lambda: log_serving(settings, 1, [os.getpid()]),
                   metrics_socket)
    )
    log.info("stopped", extra={"fields": {"signal": stopped_by}})
    return 0


#: Allocations between two young collections (CPython's default is 700). Each young
#: collection walks every young object still alive, and under load that is mostly the
#: in-flight requests, whatever the threshold; so collecting less often costs less in all.
GC_YOUNG_THRESHOLD = 20_000


def _tune_collector() -> None:
    """Keep the garbage collector out of the turns' way (measured: “Performance”, README).

    Everything built at start-up (knowledge base, lexicon, intent model, templates) lives
    as long as the process, yet every full collection walked all of it again: it is
    frozen out of the collector's view. And young collections run less often.
    """
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)


def _set_parent_death_signal() -> None:
    """Linux: a worker gets SIGTERM if the supervisor dies without stopping it."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: workers just outlive a killed supervisor
        pass


def _worker_process(settings: Settings, report_fd: int, inherited: list[int]) -> None:
    """A forked worker: bind, open, serve.

    It reports to the supervisor on ``report_fd``: ``<pid>`` once listening, or
    ``<pid> <why>`` when it could not start (one write each, so lines never mix).
    """
    for fd in inherited:
        os.close(fd)
    _set_parent_death_signal()
    pid = os.getpid()

    def report(line: str) -> None:
        os.write(report_fd, (line.replace("\n", " ")[:500] + "\n").encode())

    try:
        if settings.database is None:
            check_db_path(settings.db_path)
        sockets = bind_sockets(settings.host, settings.port, reuse_port=True)
        asyncio.run(_serve_app(settings, sockets, lambda: report(str(pid))))
    except (StartupError, ConfigError) as exc:
        log.error("worker failed to start", extra={"fields": {"pid": pid, "error": str(exc)}})
        report(f"{pid} {exc}")
        raise SystemExit(2) from None
    except Exception as exc:
        log.exception("worker failed", extra={"fields": {"pid": pid}})
        report(f"{pid} {type(exc).__name__}: {exc}")
        raise SystemExit(1) from None


def _exit_fields(code: int | None) -> dict[str, Any]:
    if code is not None and code < 0:
        try:
            return {"signal": signal.Signals(-code).name}
        except ValueError:
            return {"signal": -code}
    return {"exit_code": code}


def _exit_text(code: int | None) -> str:
    fields = _exit_fields(code)
    return f"killed by {fields['signal']}" if "signal" in fields else f"exit code {code}"


@dataclass
class _Slot:
    """One worker position: the process in it now, and its restart back-off."""

    index: int
    process: BaseProcess | None = None
    started_at: float = 0.0
    ready: bool = False
    #: deaths of this slot's worker in a row, each within ``stable_after`` of its start
    streak: int = 0
    restart_at: float | None = None
    #: what the last worker in this slot said when it failed to start
    failure: str = ""


class Supervisor:
    """Keeps ``workers`` forked worker processes serving ``settings``.

    :param first_delay: seconds before the first restart of a worker; doubles per death.
    :param max_delay: the longest delay between two restarts of one worker.
    :param stable_after: seconds of uptime after which a worker's back-off starts over,
        and the quiet stretch that resets the give-up count.
    :param give_up_after: deaths in a row, without such a quiet stretch, that make it
        give up (default ``3 × workers``).
    """

    def __init__(
        self,
        settings: Settings,
        workers: int,
        *,
        first_delay: float = 0.5,
        max_delay: float = 30.0,
        stable_after: float = 10.0,
        give_up_after: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        metrics_socket: socket.socket | None = None,
    ) -> None:
        self.settings = settings
        #: ``/metrics``, served here (the workers' files added up), never by a worker
        self.metrics = None if metrics_socket is None else MetricsServer(metrics_socket)
        self.slots = [_Slot(n) for n in range(workers)]
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.stable_after = stable_after
        self.give_up_after = give_up_after or 3 * workers
        self.clock = clock
        self._context = multiprocessing.get_context("fork")
        self._stop_signal: int | None = None
        self._serving = False
        self._deaths_in_a_row = 0
        self._last_event = clock()
        self._ready_buffer = b""

    # -- the loop ---------------------------------------------------------------------

    def run(self) -> int:
        """Serve until SIGTERM/SIGINT (return 0) or until giving up (raise WorkersFailed)."""
        self._ready_r, self._ready_w = os.pipe()
        self._wake_r, self._wake_w = os.pipe()
        for fd in (self._ready_r, self._wake_r, self._wake_w):
            os.set_blocking(fd, False)
        previous = {signum: signal.signal(signum, self._on_signal) for signum in _STOP_SIGNALS}
        previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, self._on_hangup)
        from wxloan import handlers  # noqa: F401  (imported once here, shared by every forked worker)

        try:
            for slot in self.slots:
                self._start(slot)
            while self._stop_signal is None:
                self._step()
            exits = self._stop_all()
            log.info("stopped", extra={"fields": {
                "signal": signal.Signals(self._stop_signal).name, "workers": exits}})
            return 0
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            for fd in (self._ready_r, self._ready_w, self._wake_r, self._wake_w):
                os.close(fd)

    def _on_hangup(self, _signum: int, _frame: object) -> None:
        """SIGHUP (``systemctl reload``): every live worker reloads its knowledge data."""
        for slot in self.slots:
            if slot.process is not None and slot.process.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(slot.process.pid, signal.SIGHUP)

    def _on_signal(self, signum: int, _frame: object) -> None:
        self._stop_signal = signum
        with contextlib.suppress(BlockingIOError):
            os.write(self._wake_w, b"!")

    def _step(self) -> None:
        now = self.clock()
        due = [slot.restart_at for slot in self.slots if slot.restart_at is not None]
        timeout = max(0.0, min(due) - now) if due else None
        by_sentinel = {slot.process.sentinel: slot for slot in self.slots if slot.process}
        scrape = [] if self.metrics is None else [self.metrics.fileno()]
        ready = multiprocessing.connection.wait(
            [self._wake_r, self._ready_r, *by_sentinel, *scrape], timeout
        )
        if self.metrics is not None and scrape[0] in ready:
            self.metrics.handle()
        if self._wake_r in ready:
            with contextlib.suppress(BlockingIOError):
                os.read(self._wake_r, 512)
        if self._ready_r in ready:
            self._read_ready()
        for sentinel, slot in by_sentinel.items():
            if sentinel in ready:
                self._reap(slot)
        if self._stop_signal is not None:
            return
        now = self.clock()
        for slot in self.slots:
            if slot.restart_at is not None and slot.restart_at <= now:
                self._start(slot)

    # -- workers ----------------------------------------------------------------------

    def _start(self, slot: _Slot) -> None:
        # Blocked across the fork: the child must not run this process's handlers; it
        # unblocks them once its own are installed (see _serve_app).
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, _WORKER_SIGNALS)
        try:
            process = self._context.Process(
                target=_worker_process,
                args=(self.settings, self._ready_w, [self._ready_r, self._wake_r, self._wake_w,
                                                     *self._metrics_fds()]),
                name=f"wxloan-worker-{slot.index}",
            )
            process.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        slot.process, slot.ready, slot.restart_at, slot.failure = process, False, None, ""
        slot.started_at = self._last_event = self.clock()

    def _metrics_fds(self) -> list[int]:
        """What a worker must close: the metrics endpoint belongs to this process."""
        return [] if self.metrics is None else [self.metrics.fileno()]

    def _read_ready(self) -> None:
        with contextlib.suppress(BlockingIOError):
            self._ready_buffer += os.read(self._ready_r, 4096)
        *lines, self._ready_buffer = self._ready_buffer.split(b"\n")
        for line in lines:
            pid_text, _, failure = line.decode(errors="replace").partition(" ")
            pid = int(pid_text)
            slot = next((s for s in self.slots if s.process and s.process.pid == pid), None)
            if slot is None:
                continue
            if failure:
                slot.failure = failure
                continue
            slot.ready, slot.failure = True, ""
            if self._serving:
                log.info("worker restarted", extra={"fields": {"pid": pid,
                                                               "worker": slot.index}})
            elif all(s.ready for s in self.slots):
                self._serving = True
                log_serving(self.settings, len(self.slots),
                            [s.process.pid for s in self.slots if s.process and s.process.pid])

    def _reap(self, slot: _Slot) -> None:
        process = slot.process
        assert process is not None
        process.join()
        if process.pid is not None:
            process_dead(process.pid)
        self._read_ready()  # a failure report may have arrived with the exit
        slot.process = None
        if self._stop_signal is not None:  # stopping anyway: _stop_all collects the rest
            return
        now = self.clock()
        uptime = now - slot.started_at
        slot.streak = 1 if uptime >= self.stable_after else slot.streak + 1
        delay = min(self.max_delay, self.first_delay * 2 ** (slot.streak - 1))
        if now - self._last_event >= self.stable_after:
            self._deaths_in_a_row = 0
        self._deaths_in_a_row += 1
        self._last_event = now
        fields = {"pid": process.pid, **_exit_fields(process.exitcode), "worker": slot.index,
                  "uptime_s": round(uptime, 3), "was_serving": slot.ready}
        if slot.failure:
            fields["error"] = slot.failure
        if self._deaths_in_a_row >= self.give_up_after:
            log.error("worker exited", extra={"fields": {**fields, "restart_in_s": None}})
            self._stop_all()
            why = f": {slot.failure}" if slot.failure else ""
            raise WorkersFailed(
                f"workers keep dying, giving up after {self._deaths_in_a_row} exits with "
                f"less than {self.stable_after:g} s between them; the last, pid {process.pid}, "
                f"{_exit_text(process.exitcode)}{why}"
            )
        slot.restart_at = now + delay
        log.error("worker exited", extra={"fields": {**fields, "restart_in_s": delay}})

    def _stop_all(self) -> list[dict[str, Any]]:
        """SIGTERM to every live worker (they drain), wait for them; how each ended."""
        for slot in self.slots:
            slot.restart_at = None
            process = slot.process
            if process is not None and process.pid is not None and process.exitcode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGTERM)
        exits = []
        for slot in self.slots:
            if slot.process is not None:
                slot.process.join()
                if slot.process.pid is not None:
                    process_dead(slot.process.pid)
                exits.append({"pid": slot.process.pid, **_exit_fields(slot.process.exitcode)})
        return exits
