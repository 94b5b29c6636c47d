"""The ``wxloan`` command: ``serve``, ``stats``, ``transcript`` and ``purge``.

Settings come from the environment (see ``wxloan serve --help``); flags override them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import logging
import math
import re
import os
import signal
import socket
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from wxloan.storage import (
    Activity, NoDatabaseError, PostgresTarget, StorageError, Target, describe, open_database,
    parse_target, retention,
)
from wxloan.storage.store import ReadOnlyStore

if TYPE_CHECKING:
    from wxloan.storage.postgres.operator import PgOperatorStore

from .config import ENV_VARS, Settings
from .errors import ConfigError, StartupError, WorkersFailed
from .logs import JsonFormatter, configure_logging, find_user, user_ref
from wxloan.handlers import CHINA_TZ
from .simulator.chat import COMMANDS as CHAT_COMMANDS
from .simulator.chat import add_arguments as add_chat_arguments
from .simulator.chat import chat_log_path, run_chat
from .startup import DB_SETTING, bind_sockets, check_db_path, db_error, is_db_error, migrate
from .supervisor import Supervisor, run_single
from wxloan import __version__

from . import knowledge_commands, operator_commands
from .dashboard import commands as dashboard_commands

__all__ = ["main"]

log = logging.getLogger("wxloan.cli")

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_LOG_REF = re.compile(r"[0-9a-f]{12}")

#: modules that add their own subcommands: ``add_commands(subparsers)``, each parser with
#: ``set_defaults(run=fn)`` where ``fn(settings, args) -> exit code``
_COMMAND_MODULES = (knowledge_commands, operator_commands, dashboard_commands)


def _parser() -> argparse.ArgumentParser:
    env_help = "\n".join(f"  {name:<34} {meaning}" for name, meaning in ENV_VARS.items())
    parser = argparse.ArgumentParser(
        prog="wxloan",
        description="wxloan (WeChat loan assistant): the WeChat consumer-credit consultation bot.",
        epilog=f"environment variables:\n{env_help}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"wxloan {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="serve the webhook (/wechat) and /healthz")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8080)")
    serve.add_argument("--db", help="SQLite file or postgresql:// URL (default $WXLOAN_DB or "
                       "./wxloan.db)")
    serve.add_argument(
        "--workers", type=int, default=1,
        help="worker processes sharing the port (SO_REUSEPORT) and the database (default 1)",
    )
    serve.add_argument("--metrics-port", type=int, metavar="PORT",
                       help="serve Prometheus metrics at http://127.0.0.1:PORT/metrics "
                       "(default $WXLOAN_METRICS_PORT, off)")
    serve.add_argument("--knowledge", type=Path, metavar="DIR",
                       help="knowledge data folder (default $WXLOAN_KNOWLEDGE_DIR, the "
                       "shipped data); SIGHUP reloads it")

    stats = commands.add_parser("stats", help="users, messages and assessments, per day")
    stats.add_argument("--db", help="SQLite file or postgresql:// URL (default $WXLOAN_DB)")
    stats.add_argument("--days", type=int, default=14, help="days to list (default 14)")
    stats.add_argument("--json", action="store_true", help="print JSON instead of a table")

    transcript = commands.add_parser("transcript", help="one user's conversation (masked)")
    transcript.add_argument("openid", metavar="USER",
                            help="the user's openid, or the log reference logs name it by")
    transcript.add_argument("--db", help="SQLite file or postgresql:// URL (default $WXLOAN_DB)")
    transcript.add_argument("--limit", type=int, default=500, help="last N messages")
    transcript.add_argument("--json", action="store_true",
                            help="print one JSON object per message instead of lines")

    export = commands.add_parser(
        "export", help="masked conversations of the last DAYS days as JSON lines",
        description="One JSON object per message (user by log reference, never the openid; "
        "time; direction; type; masked text), oldest first.")
    export.add_argument("--since", type=float, required=True, metavar="DAYS",
                        help="messages of the last DAYS days")
    export.add_argument("--out", type=Path, metavar="FILE", help="write to FILE (default stdout)")
    export.add_argument("--db", help="SQLite file or postgresql:// URL (default $WXLOAN_DB)")

    chat = commands.add_parser(
        "chat", help="chat with the bot in the terminal, as WeChat would call it",
        description="Plays WeChat's server: signed (and encrypted) pushes, replies with "
        "their latency. Commands inside the chat: "
        + "; ".join(f"{name} ({meaning})" for name, meaning in CHAT_COMMANDS.items()),
    )
    add_chat_arguments(chat)

    simulate = commands.add_parser(
        "simulate", help="a local web page that looks like a WeChat chat window",
        description="Drives a built-in webhook and stand-in WeChat API, or with --url a "
        "running wxloan (whose customer-service messages cannot be read back).",
    )
    simulate.add_argument("--port", type=int, default=8000, help="port (default 8000; 0: any)")
    simulate.add_argument("--db", type=Path, help="database (default: a temporary one)")
    from .simulator.remote import add_remote_arguments  # --url etc., as wxloan chat has them

    add_remote_arguments(simulate)

    menu = commands.add_parser("menu", help="the Official Account's custom menu")
    menu_commands = menu.add_subparsers(dest="menu_command", required=True, metavar="ACTION")
    menu_commands.add_parser(
        "push", help="create the menu from knowledge/data/menu.toml through the WeChat API"
    )

    # -- nlu test / nlu review (issue 13: measure understanding, improve it from traffic)
    nlu = commands.add_parser(
        "nlu", help="understanding: score it on the held-out examples, review real misses"
    )
    nlu_commands = nlu.add_subparsers(dest="nlu_command", required=True, metavar="ACTION")
    nlu_test = nlu_commands.add_parser(
        "test", help="score understanding on the held-out examples (exit 1 below thresholds)",
        description="Reads every held-out example (one in five, by hash of its text) with "
        "the Understander and prints intent accuracy, macro-F1, the fallback rate, "
        "per-intent and per-slot precision/recall/F1 and every miss. Exit 0 when every "
        "score meets knowledge/data/nlu/thresholds.toml, 1 otherwise, 2 on bad input.",
    )
    nlu_test.add_argument("--report", type=Path, metavar="DIR",
                          help="also write DIR/index.html and DIR/confusion.svg")
    nlu_test.add_argument("--examples", type=Path, metavar="DIR",
                          help="example set (default knowledge/data/nlu/examples)")
    nlu_test.add_argument("--thresholds", type=Path, metavar="FILE",
                          help="thresholds (default knowledge/data/nlu/thresholds.toml)")
    nlu_review = nlu_commands.add_parser(
        "review", help="recent messages that fell to the fallback or were unsure, grouped",
        description="Reads (read-only) the masked inbound messages of the last DAYS days "
        "that fell to the fallback, got a clarifying question or were read below the "
        "confidence threshold; groups near-duplicates and shows each group by size with "
        "the model's best guesses. --export FILE writes them as an example file to label.",
    )
    nlu_review.add_argument("--days", type=float, default=7, help="last N days (default 7)")
    nlu_review.add_argument("--db", help="SQLite file or postgresql:// URL (default $WXLOAN_DB)")
    nlu_review.add_argument("--export", type=Path, metavar="FILE",
                            help="write the groups in the example-set format (*.yml)")
    nlu_review.add_argument("--thresholds", type=Path, metavar="FILE",
                            help="thresholds (default knowledge/data/nlu/thresholds.toml)")
    # -- nlu train: refit the intent model (handlers/nlu/training.py)
    nlu_train = nlu_commands.add_parser(
        "train", help="refit the intent model on the training split and write its artifact",
        description="Fits the intent model on the training side of the example set (never "
        "the held-out side), chooses the confidence threshold by cross-validation, and "
        "writes knowledge/data/nlu/model.json; the same examples give the same file.",
    )
    nlu_train.add_argument("--examples", type=Path, metavar="DIR",
                           help="example set (default knowledge/data/nlu/examples)")
    nlu_train.add_argument("--out", type=Path, metavar="FILE",
                           help="artifact (default knowledge/data/nlu/model.json)")
    nlu_train.add_argument("--compare", action="store_true",
                           help="first cross-validate every candidate model and print the table")
    nlu_train.add_argument("--check", action="store_true",
                           help="only check the artifact was fit on these examples (exit 1 if not)")

    purge = commands.add_parser(
        "purge", help="delete data older than N days (retention); safe while serve runs",
        description="Deletes messages, replies, assessments, sessions, users, deliveries, "
        "quota grants and delivery attempts older than DAYS, in short batches (about 10 ms "
        "each, under the server's writer lock), so a running `wxloan serve` keeps answering "
        "in time. --vacuum then gives the freed space back: in small steps, safe while serve "
        "runs, when the file uses auto_vacuum=INCREMENTAL (every file this command has "
        "vacuumed once); otherwise with one full VACUUM, which rewrites the whole file and "
        "needs exclusive access: the server's writes wait until it ends, so stop serve first "
        "or run it at a quiet moment.",
    )
    purge.add_argument(
        "--older-than", type=float, required=True, metavar="DAYS",
        help="delete rows older than DAYS days (0 deletes everything and needs --yes)",
    )
    purge.add_argument("--db", help="SQLite file or postgresql:// URL (default $WXLOAN_DB)")
    purge.add_argument("--dry-run", action="store_true",
                       help="print how many rows per table would go; change nothing")
    purge.add_argument("--yes", action="store_true",
                       help="confirm --older-than 0 (delete every message, user and session)")
    purge.add_argument("--vacuum", action="store_true",
                       help="afterwards, shrink the file and print the bytes before/after")
    migrate_db = commands.add_parser(
        "migrate-db", help="copy a SQLite database into an empty PostgreSQL one",
        description="Copies every table of a SQLite file (ids included) into a PostgreSQL "
        "database in one transaction; the file is only read. Stop `wxloan serve` first.",
    )
    migrate_db.add_argument("--from", dest="source", required=True, metavar="PATH",
                            help="the SQLite file")
    migrate_db.add_argument("--to", dest="destination", required=True, metavar="URL",
                            help="postgresql://USER[:PASSWORD]@HOST[:PORT]/DBNAME (empty)")
    for module in _COMMAND_MODULES:
        module.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``wxloan`` console script."""
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        settings = settings.with_database(getattr(args, "db", None))
        configure_logging(settings.log_level)
        run = getattr(args, "run", None)
        if run is not None:  # commands defined in their own modules (_COMMAND_MODULES)
            return int(run(settings, args))
        if args.command == "serve":
            return _serve(settings, args)
        if args.command == "stats":
            return _stats(settings, args.days, args.json)
        if args.command == "transcript":
            return _transcript(settings, args.openid, args.limit, args.json)
        if args.command == "export":
            return _export(settings, args.since, args.out)
        if args.command == "purge":
            return _purge(settings, args)
        if args.command == "chat":
            return _chat(args)
        if args.command == "simulate":
            return _simulate(args)
        if args.command == "menu":
            return asyncio.run(_menu_push(settings))
        if args.command == "nlu" and args.nlu_command in ("test", "review"):
            return _nlu(settings, args)
        if args.command == "nlu" and args.nlu_command == "train":
            return _nlu_train(args)
        if args.command == "migrate-db":
            return _migrate_db(args.source, args.destination)
    except StartupError as exc:
        print(f"wxloan: {exc}", file=sys.stderr)
        return 2
    except ConfigError as exc:
        print(f"wxloan: configuration error: {exc}", file=sys.stderr)
        return 2
    return 1


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    """Check everything that can fail at start (one line, exit 2), then serve."""
    workers = args.workers
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}")
    settings = settings.with_overrides(host=args.host, port=args.port,
                                       metrics_port=args.metrics_port,
                                       knowledge_dir=args.knowledge)
    if settings.token_generated and settings.host not in _LOOPBACK:
        raise ConfigError(
            "WECHAT_TOKEN is not set: a generated token is for local use only, "
            "so --host must be 127.0.0.1 (set WECHAT_TOKEN to listen elsewhere)"
        )
    if settings.knowledge_dir is not None:
        _check_knowledge_dir(settings.knowledge_dir)
    if settings.database is None:
        check_db_path(settings.db_path)
    else:  # a bad URL, a refused connection or wrong credentials: one line, now
        asyncio.run(migrate(settings.database))
    # One worker keeps these sockets; a supervisor only checks the port (each worker
    # binds its own with SO_REUSEPORT) and migrates once, before forking.
    sockets = bind_sockets(settings.host, settings.port)
    if workers > 1:
        for sock in sockets:
            sock.close()
        if settings.database is None:
            asyncio.run(migrate(settings.db_path))
    if settings.token_generated:
        print(f"WECHAT_TOKEN is not set; generated a token for this run: {settings.token}")
        print("Listening on 127.0.0.1 only. Set WECHAT_TOKEN to connect a real account.")
    sys.stdout.flush()  # before forking: a worker must not print these again
    with _metrics_endpoint(settings) as metrics_socket:
        if workers == 1:
            return run_single(settings, sockets, metrics_socket)
        try:
            return Supervisor(settings, workers, metrics_socket=metrics_socket).run()
        except WorkersFailed as exc:
            print(f"wxloan: {exc}", file=sys.stderr)
            return 1


@contextlib.contextmanager
def _metrics_endpoint(settings: Settings) -> Iterator[socket.socket | None]:
    """``--metrics-port``: the bound endpoint and a fresh multiprocess folder, or None.

    The folder is ``PROMETHEUS_MULTIPROC_DIR`` when set (emptied now), else a temporary
    one removed at exit; it is set up here, before any worker is forked.
    """
    if settings.metrics_port is None:
        yield None
        return
    import shutil
    import tempfile

    from . import metrics

    sock = metrics.bind_metrics_socket(settings.metrics_host, settings.metrics_port)
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    folder = given or tempfile.mkdtemp(prefix="wxloan-metrics-")
    try:
        metrics.use_multiprocess_dir(folder)
        yield sock
    finally:
        sock.close()
        if not given:
            shutil.rmtree(folder, ignore_errors=True)


def _check_knowledge_dir(folder: Path) -> None:
    """Load the operator's knowledge folder once before serving: a missing folder or any
    invalid file is one line naming the setting (every problem listed), exit 2."""
    setting = "WXLOAN_KNOWLEDGE_DIR / --knowledge"
    if not folder.is_dir():
        raise StartupError(f"{setting}: {folder} is not a folder "
                           "(`wxloan knowledge export DIR` writes one to start from)")
    found = knowledge_commands.problems(folder)
    if found:
        raise StartupError(f"{setting}: {folder}: " + "; ".join(found))


def _migrate_db(source: str, destination: str) -> int:
    """``wxloan migrate-db``: copy a SQLite file into an empty PostgreSQL database."""
    from wxloan.storage.postgres.transfer import TargetNotEmptyError, copy_sqlite_to_postgres

    path, target = parse_target(source), parse_target(destination)
    if not isinstance(path, Path):
        raise ConfigError("--from: a SQLite file, not a PostgreSQL URL")
    if not isinstance(target, PostgresTarget):
        raise ConfigError("--to: a postgresql:// URL")
    try:
        copied = asyncio.run(copy_sqlite_to_postgres(path, target))
    except NoDatabaseError:
        raise ConfigError(f"--from: no database at {path}") from None
    except TargetNotEmptyError as exc:
        raise ConfigError(f"--to: {exc}; migrate into an empty database") from None
    except StorageError as exc:
        raise ConfigError(f"--from: {exc}") from None
    except Exception as exc:
        if is_db_error(target, exc):
            raise ConfigError(str(db_error(target, exc)).replace(DB_SETTING, "--to")) from None
        raise
    for table, rows in copied.items():
        print(f"{table:<18} {rows:>10,} rows")
    print(f"copied {path} into {target.redacted()}")
    return 0


def _no_database(path: Path) -> ConfigError:
    return ConfigError(f"WXLOAN_DB / --db: no database at {path}")


@contextlib.contextmanager
def _existing_database(target: Target) -> Iterator[None]:
    """Turn a missing or foreign database, or one that cannot be reached, into one line and
    exit 2 (nothing is created)."""
    try:
        yield
    except NoDatabaseError:
        if isinstance(target, Path):
            raise _no_database(target) from None
        raise ConfigError(f"WXLOAN_DB / --db: {describe(target)} holds no wxloan database"
                          " (`wxloan serve` creates it)") from None
    except sqlite3.DatabaseError as exc:
        raise ConfigError(f"WXLOAN_DB / --db: {target} is not a wxloan database ({exc})") from None
    except Exception as exc:
        if isinstance(target, PostgresTarget) and is_db_error(target, exc):
            raise ConfigError(str(db_error(target, exc))) from None
        raise


@contextlib.contextmanager
def _operator_store(settings: Settings) -> Iterator[ReadOnlyStore | PgOperatorStore]:
    """The database the operator commands read, read-only (SQLite) or as it is (PostgreSQL),
    with every failure to open it as one line (see :func:`_existing_database`)."""
    target = settings.db_target
    with _existing_database(target):
        if isinstance(target, Path):
            store: ReadOnlyStore | PgOperatorStore = ReadOnlyStore(target)
        else:
            from wxloan.storage.postgres.operator import PgOperatorStore

            store = PgOperatorStore(target)
        with store:
            yield store


def _stats(settings: Settings, days: int, as_json: bool) -> int:
    if days < 1:
        raise ConfigError("--days must be at least 1")
    with _operator_store(settings) as store:
        stats = store.stats(days=days)
    if as_json:
        print(json.dumps(_asdict(stats), ensure_ascii=False, indent=2))
        return 0
    print(f"database     {describe(settings.db_target)}")
    print(f"users        {stats.users}")
    print(f"messages     {stats.messages}")
    print(f"assessments  {stats.assessments}")
    print(f"sessions     {stats.sessions}")
    print()
    print(f"{'day (CST)':<12} {'new users':>9} {'in':>7} {'out':>7} {'assessments':>11}")
    for day in stats.days:
        print(
            f"{day.day:<12} {day.new_users:>9} {day.messages_in:>7} {day.messages_out:>7}"
            f" {day.assessments:>11}"
        )
    print()
    _print_activity(stats.activity, days)
    return 0


def _print_activity(activity: Activity | None, days: int) -> None:
    """The period's outcomes, understanding, safety and funnel, as a short table."""
    if activity is None:
        print("activity     not recorded in this database yet (start wxloan serve once to"
              " migrate it)")
        return

    def share(part: int, whole: int) -> str:
        return f" ({part * 100 // whole}%)" if whole else ""

    print(f"last {days} day{'s' if days > 1 else ''}")
    print(f"turns        {activity.turns}")
    print(f"replies      {activity.replies}")
    print(f"duplicates   {activity.duplicates}")
    print(f"late         {activity.late}{share(activity.late, activity.turns)}")
    print(f"errors       {activity.errors}{share(activity.errors, activity.turns)}")
    print(f"fallbacks    {activity.fallbacks}{share(activity.fallbacks, activity.turns)}")
    print(f"hand-offs    {activity.handoffs}")
    scams = ", ".join(f"{name} {n}" for name, n in activity.scam_warnings.items())
    print(f"scam warnings {sum(activity.scam_warnings.values())}" + (f": {scams}" if scams else ""))
    print()
    print(f"{'funnel':<12} {'started':>7} {'verdict':>13}")
    for row in activity.funnel:
        reached = f"{row.reached_verdict}{share(row.reached_verdict, row.started)}"
        print(f"{row.flow:<12} {row.started:>7} {reached:>13}")


def _asdict(stats: object) -> object:
    from dataclasses import asdict, is_dataclass

    return asdict(stats) if is_dataclass(stats) and not isinstance(stats, type) else stats


def _transcript(settings: Settings, user: str, limit: int, as_json: bool = False) -> int:
    if limit < 1:
        raise ConfigError("--limit must be at least 1")
    with _operator_store(settings) as store:
        rows = store.transcript(user, limit)
        if not rows and _LOG_REF.fullmatch(user):  # the 12 hex digits a log line shows
            openid = find_user(store.openids(), user)
            rows = store.transcript(openid, limit) if openid is not None else []
    if not rows:
        print(f"no messages for {user}", file=sys.stderr)
        return 1
    for row in rows:
        when = dt.datetime.fromtimestamp(row["created_at"], CHINA_TZ)
        if as_json:
            print(json.dumps({"time": when.isoformat(timespec="seconds"),
                              "direction": row["direction"], "type": row["msg_type"],
                              "content": row["content"]}, ensure_ascii=False))
            continue
        arrow = "→" if row["direction"] == "in" else "←"
        content = (row["content"] or "").replace("\n", "\n" + " " * 24)
        print(f"{when:%Y-%m-%d %H:%M:%S} {arrow} [{row['msg_type']}] {content}")
    return 0


def _export(settings: Settings, days: float, out: Path | None) -> int:
    """``wxloan export``: masked messages as JSON lines, users by log reference only."""
    if not math.isfinite(days) or days <= 0:
        raise ConfigError("--since must be a positive number of days")
    with _operator_store(settings) as store:
        rows = store.messages_since(time.time() - days * 86400)
    lines = (json.dumps({
        "user": user_ref(row["openid"]),
        "time": dt.datetime.fromtimestamp(row["created_at"], CHINA_TZ).isoformat(
            timespec="seconds"),
        "direction": row["direction"], "type": row["msg_type"], "content": row["content"],
    }, ensure_ascii=False) + "\n" for row in rows)
    if out is None:
        sys.stdout.writelines(lines)
    else:
        with out.open("w", encoding="utf-8") as file:
            file.writelines(lines)
        print(f"wrote {len(rows)} messages to {out}", file=sys.stderr)
    return 0


def _purge(settings: Settings, args: argparse.Namespace) -> int:
    days = float(args.older_than)
    if not math.isfinite(days) or days < 0:
        raise ConfigError("--older-than must be a finite number of days, zero or more")
    if days == 0 and not (args.yes or args.dry_run):
        print("wxloan purge: --older-than 0 deletes every message, user and session;"
              " add --yes to confirm", file=sys.stderr)
        return 2
    before = time.time() - days * 86400
    if settings.database is not None:
        return _purge_postgres(settings, args, before)
    path = settings.db_path
    with _existing_database(path):
        size = retention.file_bytes(path)  # the database and its WAL, before anything goes
        report = _run_purge(retention.plan(path, before), args.dry_run,
                            partial(retention.purge, path, before))
        if report is None:
            return 0
        print(f"{report.batches} batches in {report.elapsed_s:.1f} s; the longest held the"
              f" write lock {report.max_hold_s * 1000:.1f} ms")
        if args.vacuum:
            if not retention.vacuums_live(path):
                print("wxloan purge: full VACUUM (the file has auto_vacuum off): writes wait"
                      " until it ends; it switches the file to incremental vacuum for next"
                      " time", file=sys.stderr)
            done = retention.vacuum(path)
            print(f"vacuum ({done.mode}, {done.elapsed_s:.1f} s, {done.steps} steps, the"
                  f" longest {done.max_hold_s * 1000:.1f} ms): {size:,} →"
                  f" {done.bytes_after:,} bytes ({(size - done.bytes_after) / 1e6:.1f} MB"
                  " reclaimed)")
    return 0


def _purge_postgres(settings: Settings, args: argparse.Namespace, before: float) -> int:
    """``purge`` on PostgreSQL: the same rules, in short transactions beside the nodes."""
    with _operator_store(settings) as store:
        assert not isinstance(store, ReadOnlyStore)
        report = _run_purge(store.plan(before), args.dry_run, partial(store.purge, before))
        if report is None:
            return 0
        print(f"{report.batches} batches in {report.elapsed_s:.1f} s; the longest took"
              f" {report.max_hold_s * 1000:.1f} ms")
        if args.vacuum:
            size, after, seconds = store.vacuum()
            print(f"vacuum (VACUUM ANALYZE, {seconds:.1f} s, beside the nodes): {size:,} →"
                  f" {after:,} bytes (freed space is reused; PostgreSQL returns it to the"
                  " file system only from the end of a table)")
    return 0


def _run_purge(planned: dict[str, int], dry_run: bool,
               purge: Callable[..., retention.PurgeReport]) -> retention.PurgeReport | None:
    """Print what a purge would delete (dry run: None) or run it and print what it did,
    with a progress line on a terminal; ``purge(totals=, progress=)`` deletes."""
    if dry_run:
        print("would delete " + _per_table(planned) + " (dry run: nothing changed)")
        return None
    progress = _PurgeProgress(sys.stderr) if sys.stderr.isatty() else None
    report = purge(totals=planned, progress=progress)
    if progress is not None:
        progress.end()
    print("deleted " + _per_table(report.deleted))
    return report


def _per_table(counts: dict[str, int]) -> str:
    return ", ".join(f"{table}: {n}" for table, n in counts.items()) or "nothing"


class _PurgeProgress:
    """One self-overwriting status line on a terminal (``\\r``), at most ten updates a second."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.shown = 0.0

    def __call__(self, table: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.shown < 0.1 and done < total:
            return
        self.shown = now
        share = f" ({100 * done // total}%)" if total else ""
        self.stream.write(f"\rpurge: {table} {done:,}/{total:,}{share}\033[K")
        self.stream.flush()

    def end(self) -> None:
        self.stream.write("\n")
        self.stream.flush()


def _chat(args: argparse.Namespace) -> int:
    # An interactive chat answers Ctrl-C even when started from a runner that ignores
    # SIGINT (an ignored signal stays ignored across exec, and asyncio then leaves it be).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    # The in-process webhook's JSON log lines go to a file, never into the conversation.
    log_file = Path(args.log_file) if args.log_file else chat_log_path()
    log_file.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in root.handlers:
        if isinstance(old, logging.FileHandler):
            old.close()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    tty = sys.stdin.isatty() and sys.stdout.isatty()
    if tty:
        print(f"(logs: {log_file})", file=sys.stderr, flush=True)
    try:
        code = asyncio.run(run_chat(args))
    except KeyboardInterrupt:  # Ctrl-C leaves the chat quietly: one goodbye line
        print("\n(bye)", file=sys.stderr)
        code = 130
    finally:
        root.removeHandler(handler)
        handler.close()
    return code


def _simulate(args: argparse.Namespace) -> int:
    from .simulator.web import run_simulator

    # Ctrl-C stops it even when started from a runner that ignores SIGINT (see _chat).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        asyncio.run(run_simulator(port=args.port, db_path=args.db, url=args.url,
                                  token=args.token, aes_key=args.aes_key, app_id=args.app_id))
    except KeyboardInterrupt:
        pass
    return 0


def _nlu(settings: Settings, args: argparse.Namespace) -> int:
    """``nlu test`` / ``nlu review`` (:mod:`.nlu_tools`, imported only when run)."""
    from . import nlu_tools

    if args.nlu_command == "test":
        return nlu_tools.run_test(args)
    return nlu_tools.run_review(args, settings)


def _nlu_train(args: argparse.Namespace) -> int:
    """``nlu train``: :func:`wxloan.handlers.nlu.training.main` (scikit-learn loads only here)."""
    from wxloan.handlers.nlu import training
    from wxloan.handlers.nlu.classifier import ModelError
    from wxloan.handlers.nlu.examples import ExamplesError

    argv = [*(["--examples", str(args.examples)] if args.examples else []),
            *(["--out", str(args.out)] if args.out else []),
            *(["--compare"] if args.compare else []), *(["--check"] if args.check else [])]
    try:
        return training.main(argv)
    except (ExamplesError, ModelError) as exc:
        print(f"wxloan nlu train: {exc}", file=sys.stderr)
        return 2


async def _menu_push(settings: Settings) -> int:
    import aiohttp

    from wxloan.handlers.menu import load_menu

    from .wechat_api import ApiError, WeChatApi

    if not settings.outbound_enabled:
        raise ConfigError("wxloan menu push needs WECHAT_APP_ID and WECHAT_APP_SECRET")
    menu = load_menu()
    target = settings.db_target  # the servers' database: their access-token cache is shared
    try:
        store = await open_database(target, pool_size=1)
    except Exception as exc:
        if is_db_error(target, exc):
            raise db_error(target, exc) from None
        raise
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as http:
            api = WeChatApi(session=http, store=store, api_base=settings.api_base,
                            app_id=settings.app_id, app_secret=settings.app_secret,
                            clock=time.time)
            try:
                result = await api.create_menu(menu.wechat_json())
            except ApiError as exc:
                print(f"wxloan menu push: {exc}", file=sys.stderr)
                return 1
    finally:
        await store.close()
    if not result.ok:
        print(f"wxloan menu push: WeChat refused: {result.errcode} {result.errmsg}",
              file=sys.stderr)
        return 1
    names = ", ".join(f"{b.name} ({b.key})" for b in menu.buttons)
    print(f"menu created on {settings.api_base}: {names}")
    return 0
