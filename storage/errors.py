"""Errors raised by the storage layer.

::

    StorageError
    ├── StoreClosedError      the store was used after ``close()``
    └── NoDatabaseError       a command that only reads or trims found no database file
"""

from __future__ import annotations

__all__ = ["NoDatabaseError", "StorageError", "StoreClosedError"]


class StorageError(Exception):
    """Base class of every error the storage layer raises on purpose."""


class StoreClosedError(StorageError):
    """The store was used after it was closed (a shutdown race, never normal flow)."""


class NoDatabaseError(StorageError):
    """There is no database at this path; read-only and retention commands never create one."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path
