"""Errors raised by the storage layer.

::

    StorageError
    ├── StoreClosedError      the store was used after ``close()``
    ├── NoDatabaseError       a command that only reads or trims found no database file
    └── NoMetaError           the message log predates its ``meta`` column (migration 0005)
"""

from __future__ import annotations

__all__ = ["NoDatabaseError", "NoMetaError", "StorageError", "StoreClosedError"]


class StorageError(Exception):
    """Base class of every error the storage layer raises on purpose."""


class StoreClosedError(StorageError):
    """The store was used after it was closed (a shutdown race, never normal flow)."""


class NoDatabaseError(StorageError):
    """There is no database at this path; read-only and retention commands never create one."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


class NoMetaError(StorageError):
    """The database was never opened by a server that logs ``meta`` (before migration 0005);
    a read-only command cannot migrate it."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path
