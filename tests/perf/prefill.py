"""Synthetic data in bulk: a database as large as production's, in seconds.

For the growth benchmark (``bench.py --growth``), the live purge (``purge_live.py``) and
the retention and ``wxloan purge`` tests. Test data, not the service, so it lives with the
benchmarks (it was ``storage/maintenance.py``); the schema comes from the service's own
migrations, so it is the real one.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

from sqlite_utils import Database

from wxloan.storage.migrations import apply_migrations

__all__ = ["prefill_synthetic"]

#: Synthetic message bodies: sizes like real chat lines (their wording does not matter).
_TEXTS = ("1", "msg " * 2, "msg " * 4, "msg " * 6, "msg " * 10, "msg " * 20)


def prefill_synthetic(path: Path, *, users: int, messages: int, chunk: int = 50_000) -> None:
    """Create ``path`` with ``users`` users, their sessions, and ``messages`` messages.

    Messages alternate in/out like real conversations and each inbound one has its
    processed key, so indexes are as large as in production. Bulk inserts in big
    transactions with ``synchronous=OFF``: minutes would be seconds.
    """
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    apply_migrations(Database(conn))
    conn.execute("PRAGMA synchronous=OFF")
    now = time.time() - 86400
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO users (openid, first_seen, last_seen, profile) VALUES (?, ?, ?, ?)",
        ((f"old-{u}", now, now, json.dumps({"pay_score": 600 + u % 200})) for u in range(users)),
    )
    conn.executemany(
        "INSERT INTO sessions (openid, flow, step, slots, pending_pages, updated_at, version)"
        " VALUES (?, NULL, NULL, ?, '[]', ?, 1)",
        ((f"old-{u}", json.dumps({"pay_score": 600 + u % 200}), now) for u in range(users)),
    )
    conn.execute("COMMIT")
    for start in range(0, messages, chunk):
        stop = min(messages, start + chunk)
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO messages (openid, direction, msg_type, content, created_at)"
            " VALUES (?, ?, 'text', ?, ?)",
            ((f"old-{n % users}", "in" if n % 2 == 0 else "out", _TEXTS[n % len(_TEXTS)],
              now + n / 1000) for n in range(start, stop)),
        )
        conn.executemany(
            "INSERT INTO processed (msg_key, openid, status, reply, created_at, updated_at)"
            " VALUES (?, ?, 'done', ?, ?, ?)",
            ((f"old-key-{n}", f"old-{n % users}", '{"kind":"text","text":"ok"}', now, now)
             for n in range(start, stop, 2)),
        )
        conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
