"""The store on PostgreSQL, for several nodes on one database (``--db postgresql://…``)."""

from .schema import MIGRATIONS, apply_migrations
from .store import PgStore, open_pg_store

__all__ = ["MIGRATIONS", "PgStore", "apply_migrations", "open_pg_store"]
