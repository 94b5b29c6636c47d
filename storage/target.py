"""Which database a setting names: a SQLite file, or a PostgreSQL server by URL.

``--db`` and ``WXLOAN_DB`` take either. ``postgresql://`` (or ``postgres://``) is a
PostgreSQL connection URL, with the usual libpq environment variables (``PGHOST``,
``PGUSER``, ``PGPASSWORD``, ...) filling in what it leaves out; ``sqlite:PATH`` or any
other value is a SQLite file. The password is never shown: :meth:`PostgresTarget.redacted`
is what logs, ``/healthz`` and error messages print.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["PostgresTarget", "Target", "describe", "parse_target"]

_POSTGRES = re.compile(r"^postgres(?:ql)?://", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class PostgresTarget:
    """A PostgreSQL database named by a connection URL (kept only to connect)."""

    url: str

    def __repr__(self) -> str:  # never the password, not even in a traceback
        return f"PostgresTarget({self.redacted()!r})"

    __str__ = __repr__

    def redacted(self) -> str:
        """The URL with its password (in the authority or the query) replaced by ``***``."""
        parts = urlsplit(self.url)
        if parts.password is None and "password" not in parts.query.lower():
            return self.url
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, _, hostinfo = netloc.rpartition("@")
            user, colon, _ = userinfo.partition(":")
            netloc = f"{user}{':***' if colon else ''}@{hostinfo}"
        query = urlencode(
            [(k, "***" if k.lower() == "password" else v) for k, v in parse_qsl(parts.query)],
            safe="*",
        )
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


Target = Path | PostgresTarget


def parse_target(value: str | Path) -> Target:
    """The database ``value`` names (a path is a SQLite file)."""
    if isinstance(value, Path):
        return value
    if _POSTGRES.match(value):
        return PostgresTarget(value)
    if value.startswith("sqlite:"):
        rest = value[len("sqlite:") :]
        return Path(rest[2:] if rest.startswith("//") else rest)
    return Path(value)


def describe(target: Target) -> str:
    """How logs and messages name ``target`` (no password)."""
    return target.redacted() if isinstance(target, PostgresTarget) else str(target)
