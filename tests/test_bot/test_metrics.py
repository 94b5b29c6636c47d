"""Prometheus metrics: the recorder, and ``wxloan serve --workers 2 --metrics-port``.

The end-to-end test runs the real server (two forked workers, the endpoint in the
supervisor) with ``PROMETHEUS_MULTIPROC_DIR`` in the test's folder, so it can also read
each worker's own files and check that both answered and that the scrape adds them up.
Synchronised on log lines and on the scraped values themselves, never on sleeps.
"""

from __future__ import annotations

import asyncio
import glob
import os
import re
import signal
import time
import urllib.request
from pathlib import Path

import aiohttp
import pytest
from prometheus_client import REGISTRY
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from wxloan.bot import metrics
from wxloan.bot.metrics import NO_METRICS, PrometheusRecorder, Recorder

from ..wechat import TOKEN, WeChat
from .serving import DEADLINE_S, Serve, child_env, free_port


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


# -- the recorder (in this process: plain, not multiprocess, values) ----------------------


def test_the_recorder_counts_what_the_pipeline_reports() -> None:
    recorder = PrometheusRecorder()
    names = [
        ("wxloan_messages_total", {"channel": "official_account", "kind": "text",
                                   "outcome": "reply"}),
        ("wxloan_messages_total", {"channel": "official_account", "kind": "text",
                                   "outcome": "duplicate"}),
        ("wxloan_duplicates_total", {}), ("wxloan_late_replies_total", {}),
        ("wxloan_reply_seconds_count", {}), ("wxloan_intents_total", {"intent": "greeting"}),
        ("wxloan_intents_total", {"intent": "none"}), ("wxloan_fallbacks_total", {}),
        ("wxloan_scam_warnings_total", {"pattern": "upfront_fee"}),
        ("wxloan_scam_warnings_total", {"pattern": "general"}), ("wxloan_handoffs_total", {}),
        ("wxloan_outbound_total", {"status": "sent"}),
        ("wxloan_outbound_total", {"status": "failed"}), ("wxloan_in_flight", {}),
    ]
    before = [_value(name, **labels) for name, labels in names]
    recorder.started()
    recorder.started()
    recorder.finished()
    recorder.message("official_account", "text", "reply", 0.01)
    recorder.message("official_account", "text", "reply", 0.02)
    recorder.message("official_account", "text", "duplicate", 0.001)
    recorder.message("official_account", "text", "late", 4.5)
    recorder.turn("greeting", False, (), False)
    recorder.turn("none", True, (), False)
    recorder.turn("scam", False, ("upfront_fee",), False)
    recorder.turn("scam", False, ("general",), False)
    recorder.turn("human", False, (), True)
    recorder.turn(None, False, (), False)  # an event: no intent
    recorder.outbound(True)
    recorder.outbound(False)
    recorder.outbound(False)
    after = [_value(name, **labels) for name, labels in names]
    deltas = {f"{name}{sorted(labels.items())}": a - b
              for (name, labels), a, b in zip(names, after, before, strict=True)}
    assert list(deltas.values()) == [2, 1, 1, 1, 4, 1, 1, 1, 1, 1, 1, 1, 2, 1], deltas


def test_metrics_off_records_nothing() -> None:
    before = _value("wxloan_fallbacks_total")
    NO_METRICS.turn("none", True, ("upfront_fee",), True)
    NO_METRICS.message("official_account", "text", "reply", 0.1)
    assert type(NO_METRICS) is Recorder and _value("wxloan_fallbacks_total") == before


def test_the_names_are_exactly_the_issues() -> None:
    expected = {
        "wxloan_messages_total": ("counter", ("channel", "kind", "outcome")),
        "wxloan_reply_seconds": ("histogram", ()),
        "wxloan_intents_total": ("counter", ("intent",)),
        "wxloan_fallbacks_total": ("counter", ()),
        "wxloan_scam_warnings_total": ("counter", ("pattern",)),
        "wxloan_handoffs_total": ("counter", ()),
        "wxloan_duplicates_total": ("counter", ()),
        "wxloan_late_replies_total": ("counter", ()),
        "wxloan_outbound_total": ("counter", ("status",)),
        "wxloan_in_flight": ("gauge", ()),
    }
    found = {}
    for metric in metrics._METRICS:
        name = metric._name + ("_total" if metric._type == "counter" else "")
        found[name] = (metric._type, tuple(metric._labelnames))
    assert found == expected
    assert metrics.IN_FLIGHT._multiprocess_mode == "livesum"


def test_a_taken_metrics_port_is_one_line_and_exit_2(tmp_path: Path) -> None:
    taken = metrics.bind_metrics_socket("127.0.0.1", 0)
    port = taken.getsockname()[1]
    try:
        server = Serve("--port", str(free_port()), "--metrics-port", str(port),
                       "--db", str(tmp_path / "m.db"), env=child_env(WECHAT_TOKEN=TOKEN))
        try:
            assert server.wait_exit() == 2
            assert server.lines[-1] == f"wxloan: --metrics-port: 127.0.0.1:{port} is already in use"
            assert not server.logged("wxloan serving")
        finally:
            server.close()
    finally:
        taken.close()


# -- the real server, two workers --------------------------------------------------------


def _scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        assert resp.status == 200
        text = resp.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _listening_addresses(port: int) -> set[str]:
    """Local addresses (hex, as /proc/net/tcp* shows them) listening on ``port``."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, _, hex_port = fields[1].rpartition(":")
            if int(hex_port, 16) == port and fields[3] == "0A":  # LISTEN
                found.add(address)
    return found


async def _send(port: int, messages: list[tuple[str, str, int | None]]) -> list[str]:
    """Each message on its own connection, so the kernel spreads them over the workers."""
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(base_url=f"http://127.0.0.1:{port}",
                                     connector=connector) as http:
        wechat = WeChat(http)  # type: ignore[arg-type]
        replies = []
        for openid, text, msg_id in messages:
            replies.append((await wechat.text(openid, text, msg_id=msg_id)).content)
        return replies


def _counts(files: list[str]) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in MultiProcessCollector.merge(files)
        for sample in family.samples
    }


def test_two_workers_add_up_on_the_loopback_endpoint(tmp_path: Path) -> None:
    port, metrics_port = free_port(), free_port()
    folder = tmp_path / "prom"
    folder.mkdir()
    (folder / "counter_999999.db").write_bytes(b"stale")  # wiped at start
    server = Serve("--workers", "2", "--port", str(port), "--metrics-port", str(metrics_port),
                   "--db", str(tmp_path / "w.db"),
                   env=child_env(WECHAT_TOKEN=TOKEN, PROMETHEUS_MULTIPROC_DIR=str(folder)))
    try:
        serving = server.wait_for("wxloan serving")
        pids = serving["pids"]
        assert serving["metrics"] == f"http://127.0.0.1:{metrics_port}/metrics"
        assert _listening_addresses(metrics_port) == {"0100007F"}  # 127.0.0.1 only
        assert not (folder / "counter_999999.db").exists()

        greetings = [(f"g{n}", "你好", None) for n in range(30)]
        retry_id = 77_000_001
        special = [
            ("dup", "你好", retry_id), ("dup", "你好", retry_id),  # WeChat's retry
            ("scam", "要先交手续费才能放款", None),
            ("human", "转人工", None),
            ("lost", "qwxz", None),
        ]
        replies = asyncio.run(_send(port, greetings + special))
        assert all(reply for reply in replies)

        ours = (("channel", "official_account"), ("kind", "text"))
        deadline = time.monotonic() + DEADLINE_S
        while True:  # every turn has settled (the in-flight gauge) once answered
            scraped = _scrape(metrics_port)
            if scraped.get(("wxloan_in_flight", ())) == 0 or time.monotonic() > deadline:
                break
        assert scraped[("wxloan_messages_total", (*ours, ("outcome", "reply")))] == 34
        assert scraped[("wxloan_messages_total", (*ours, ("outcome", "duplicate")))] == 1
        assert scraped[("wxloan_reply_seconds_count", ())] == 35
        assert scraped[("wxloan_duplicates_total", ())] == 1
        assert scraped[("wxloan_late_replies_total", ())] == 0
        assert scraped[("wxloan_intents_total", (("intent", "greeting"),))] == 31
        assert scraped[("wxloan_intents_total", (("intent", "scam"),))] == 1
        assert scraped[("wxloan_intents_total", (("intent", "human"),))] == 1
        assert scraped[("wxloan_intents_total", (("intent", "out_of_scope"),))] == 1
        assert scraped[("wxloan_scam_warnings_total", (("pattern", "upfront_fee"),))] == 1
        assert scraped[("wxloan_handoffs_total", ())] == 1
        assert scraped[("wxloan_fallbacks_total", ())] == 1
        assert scraped[("wxloan_in_flight", ())] == 0

        # Both workers answered some, and the endpoint is their sum.
        per_worker = [
            _counts(glob.glob(str(folder / f"*_{pid}.db")))
            .get(("wxloan_reply_seconds_count", ()), 0.0)
            for pid in pids
        ]
        assert all(count > 0 for count in per_worker) and sum(per_worker) == 35, per_worker

        # A worker that dies: its live gauge goes, its counts stay.
        os.kill(pids[0], signal.SIGKILL)
        server.wait_for("worker exited", lambda e: e["pid"] == pids[0])
        assert not glob.glob(str(folder / f"gauge_livesum_{pids[0]}.db"))
        assert _scrape(metrics_port)[("wxloan_reply_seconds_count", ())] == 35

        server.proc.send_signal(signal.SIGTERM)
        assert server.wait_exit() == 0, server.text()
    finally:
        server.close()
    assert re.search(r"Traceback", server.text()) is None, server.text()


def test_the_grafana_dashboard_uses_these_metrics() -> None:
    import json

    path = Path(__file__).resolve().parents[2] / "deploy" / "grafana-dashboard.json"
    dashboard = json.loads(path.read_text(encoding="utf-8"))
    variables = dashboard["templating"]["list"]
    assert {"name": "datasource", "type": "datasource", "query": "prometheus"}.items() <= (
        variables[0].items())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    assert all(panel["datasource"]["uid"] == "${datasource}" for panel in dashboard["panels"])
    used = {name for expr in exprs for name in re.findall(r"wxloan_[a-z_]+", expr)}
    known = {m._name + ("_total" if m._type == "counter" else "") for m in metrics._METRICS}
    histogram = {"wxloan_reply_seconds_bucket"}
    assert used - known <= histogram and (known - {"wxloan_reply_seconds"}) <= used, used


def test_one_process_serves_its_own_metrics_and_removes_its_folder(tmp_path: Path) -> None:
    port, metrics_port = free_port(), free_port()
    env = child_env(WECHAT_TOKEN=TOKEN, TMPDIR=str(tmp_path))
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    server = Serve("--port", str(port), "--metrics-port", str(metrics_port),
                   "--db", str(tmp_path / "one.db"), env=env)
    try:
        assert server.wait_for("wxloan serving")["metrics"] == (
            f"http://127.0.0.1:{metrics_port}/metrics")
        assert len(glob.glob(str(tmp_path / "wxloan-metrics-*"))) == 1
        asyncio.run(_send(port, [("one", "你好", None), ("one", "qwxz", None)]))
        scraped = _scrape(metrics_port)
        ours = (("channel", "official_account"), ("kind", "text"), ("outcome", "reply"))
        assert scraped[("wxloan_messages_total", ours)] == 2
        assert scraped[("wxloan_fallbacks_total", ())] == 1
        server.proc.send_signal(signal.SIGTERM)
        assert server.wait_exit() == 0, server.text()
    finally:
        server.close()
    assert not glob.glob(str(tmp_path / "wxloan-metrics-*"))
