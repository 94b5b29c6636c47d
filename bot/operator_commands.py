"""The operator's conversation tools: ``users``, ``backup`` and ``forget``.

``users`` and ``forget`` work on both engines; ``backup`` is SQLite's online copy
(PostgreSQL has ``pg_dump``). ``transcript`` and ``export`` live in :mod:`.cli`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path
from typing import Any

from wxloan.storage import operator
from wxloan.storage.reports import ReadOnlyStore

from .config import Settings
from .errors import ConfigError
from .logs import find_user, user_ref

__all__ = ["add_commands"]

_DB_HELP = "SQLite file or postgresql:// URL (default $WXLOAN_DB)"


def add_commands(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add this module's subcommands; each sets ``run(settings, args) -> exit code``."""
    users = commands.add_parser("users", help="users with their log reference, newest first")
    users.add_argument("--db", help=_DB_HELP)
    users.add_argument("--limit", type=int, default=50, help="at most N users (default 50)")
    users.add_argument("--json", action="store_true", help="print JSON lines")
    users.set_defaults(run=_users)
    backup = commands.add_parser("backup", help="a consistent copy of the SQLite database, "
                                 "safe while serve runs")
    backup.add_argument("path", type=Path, help="the copy (must not exist unless --force)")
    backup.add_argument("--db", help=_DB_HELP)
    backup.add_argument("--force", action="store_true", help="overwrite an existing PATH")
    backup.set_defaults(run=_backup)
    forget = commands.add_parser("forget", help="delete every row of one user")
    forget.add_argument("user", help="the openid or its log reference")
    forget.add_argument("--db", help=_DB_HELP)
    forget.set_defaults(run=_forget)


def _sqlite_path(settings: Settings, command: str) -> Path:
    if settings.database is not None:
        raise ConfigError(f"{command}: a PostgreSQL database is backed up with its own"
                          " tools (pg_dump, or pg_basebackup with WAL archiving)")
    path = settings.db_path
    if not path.is_file():
        raise ConfigError(f"WXLOAN_DB / --db: no database at {path}")
    return path


def _users(settings: Settings, args: argparse.Namespace) -> int:
    if args.limit < 1:
        raise ConfigError("--limit must be at least 1")
    if settings.database is not None:
        with _pg_store(settings) as store:
            rows = store.users(args.limit)
    else:
        with ReadOnlyStore(_sqlite_path(settings, "users")) as sqlite_store:
            rows = sqlite_store.users(args.limit)
    _print_users(rows, args.json)
    return 0


def _print_users(rows: list[tuple[str, float, float, int, str | None]], as_json: bool) -> None:
    for openid, first, last, messages, flow in rows:
        item = {"ref": user_ref(openid), "first_seen": _iso(first), "last_seen": _iso(last),
                "messages": int(messages), "flow": flow}
        if as_json:
            print(json.dumps(item, ensure_ascii=False))
        else:
            print(f"{item['ref']}  {item['first_seen']}  {item['last_seen']}"
                  f"  {messages:>6}  {flow or '-'}")


def _iso(when: float | None) -> str:
    return "" if when is None else dt.datetime.fromtimestamp(when, dt.UTC).isoformat()


def _backup(settings: Settings, args: argparse.Namespace) -> int:
    path = _sqlite_path(settings, "backup")
    out: Path = args.path
    if out.exists() and not args.force:
        raise ConfigError(f"{out} exists (add --force to overwrite it)")
    try:
        operator.backup(path, out)
    except ValueError as exc:
        raise ConfigError(f"backup: {exc}; name another file") from None
    print(f"copied {path} to {out}")
    return 0


def _pg_store(settings: Settings) -> Any:
    from wxloan.storage.postgres.operator import PgOperatorStore

    from .cli import _existing_database

    assert settings.database is not None
    with _existing_database(settings.database):
        return PgOperatorStore(settings.database)


def _forget(settings: Settings, args: argparse.Namespace) -> int:
    if settings.database is not None:
        with _pg_store(settings) as store:
            openid = find_user(store.openids(), args.user)
            if openid is None:
                raise ConfigError(f"no user {args.user!r} in the database")
            gone = store.forget(openid, operator.USER_TABLES)
        print(f"forgot {user_ref(openid)}: "
              + ", ".join(f"{table}: {n}" for table, n in gone.items()))
        return 0
    path = _sqlite_path(settings, "forget")
    openid = find_user(operator.known_openids(path), args.user)
    if openid is None:
        raise ConfigError(f"no user {args.user!r} in the database")
    deleted = operator.forget(path, openid)
    print(f"forgot {user_ref(openid)}: "
          + ", ".join(f"{table}: {n}" for table, n in deleted.items()))
    return 0
