"""Start-up checks of ``wxloan serve``: the database file, the address to listen on.

Each problem becomes one :class:`~bot.errors.StartupError` naming the setting and the
cause (printed as ``wxloan: <message>``, exit 2), instead of a traceback from deep inside
SQLite or asyncio. The checks run before anything is logged as serving.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import socket
import sqlite3
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from wxloan.storage import PostgresTarget, Target, describe, open_database

from .errors import StartupError

__all__ = [
    "DB_SETTING", "bind_sockets", "check_db_path", "db_error", "is_db_error", "migrate",
]

log = logging.getLogger("wxloan.startup")

#: how the database setting is named in messages (the serve flag and its variable)
DB_SETTING = "--db / WXLOAN_DB"


def _cause(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def check_db_path(path: Path) -> None:
    """Refuse a database path that cannot work, before SQLite gets to it.

    A missing folder is refused rather than created: it is more often a typo than a wish.
    """
    if path.is_dir():
        raise StartupError(f"{DB_SETTING}: {path} is a directory, not a database file")
    parent = path.parent
    if not parent.exists():
        # exists() is also False when a component is a file (/etc/passwd/x.db)
        for ancestor in parent.parents:
            if ancestor.exists() and not ancestor.is_dir():
                raise StartupError(f"{DB_SETTING}: {path}: {ancestor} is a file, not a folder")
        raise StartupError(f"{DB_SETTING}: the folder {parent} does not exist (create it first)")
    if not parent.is_dir():
        raise StartupError(f"{DB_SETTING}: {path}: {parent} is a file, not a folder")
    if path.exists():
        if not os.access(path, os.R_OK | os.W_OK):
            raise StartupError(f"{DB_SETTING}: {path} is not writable")
        return
    try:  # as root, os.access() says yes to read-only places such as /proc: really try
        fd, probe = tempfile.mkstemp(dir=parent, prefix=".wxloan-probe-")
    except OSError as exc:
        raise StartupError(
            f"{DB_SETTING}: cannot create {path}: {parent} refuses new files ({_cause(exc)})"
        ) from None
    os.close(fd)
    os.unlink(probe)


def db_error(target: Target, exc: BaseException) -> StartupError:
    """The one-line error for a database that failed to open, never with its password."""
    if isinstance(target, Path):
        return StartupError(f"{DB_SETTING}: cannot open {target}: {_cause(exc)}")
    cause = _cause(exc) if not isinstance(exc, TimeoutError) else "no answer in time"
    password = urlsplit(target.url).password
    if password:
        cause = cause.replace(password, "***")
    return StartupError(
        f"{DB_SETTING}: cannot use {target.redacted()}: {type(exc).__name__}: {cause}"
    )


def is_db_error(target: Target, exc: BaseException) -> bool:
    """True for the errors a bad setting or an unreachable database raise on opening."""
    if isinstance(target, Path):
        return isinstance(exc, (sqlite3.Error, OSError))
    import asyncpg  # only here when PostgreSQL is in use

    return isinstance(exc, (OSError, asyncio.TimeoutError, ValueError, asyncpg.PostgresError,
                            asyncpg.InterfaceError))


async def migrate(target: Target, pool_size: int = 1) -> None:
    """Open the database once (creating it and applying migrations), then close it."""
    try:
        store = await open_database(target, pool_size=pool_size)
    except Exception as exc:
        if is_db_error(target, exc):
            raise db_error(target, exc) from None
        raise
    try:
        if store.applied_migrations:
            log.info(
                "database migrated",
                extra={"fields": {"db": describe(target),
                                  "migrations": store.applied_migrations}},
            )
    finally:
        await store.close()


def _where(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def bind_sockets(host: str, port: int, *, reuse_port: bool = False) -> list[socket.socket]:
    """Bound (not yet listening) sockets for every address ``host`` resolves to.

    What ``loop.create_server`` would do, done here so that a failure is one clear line.
    """
    try:
        infos = socket.getaddrinfo(
            host or None, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE
        )
    except (socket.gaierror, UnicodeError) as exc:
        raise StartupError(f"--host: cannot listen on {host!r}: {_cause(exc)}") from None
    sockets: list[socket.socket] = []
    seen: set[tuple[int, object]] = set()
    try:
        for family, kind, proto, _, address in infos:
            if (family, address) in seen:
                continue
            seen.add((family, address))
            try:
                sock = socket.socket(family, kind, proto)
                sockets.append(sock)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if reuse_port:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                sock.bind(address)
            except OSError as exc:
                raise _bind_error(host, port, exc) from None
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def _bind_error(host: str, port: int, exc: OSError) -> StartupError:
    where = _where(host, port)
    if exc.errno == errno.EADDRINUSE:
        return StartupError(f"--port: {where} is already in use")
    if exc.errno == errno.EADDRNOTAVAIL:
        return StartupError(f"--host: {host} is not an address of this machine")
    if exc.errno == errno.EACCES:
        return StartupError(f"--port: not allowed to listen on {where} (port {port} "
                            "needs privileges)")
    return StartupError(f"--host / --port: cannot listen on {where}: {_cause(exc)}")
