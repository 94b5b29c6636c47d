"""Errors raised by the storage layer.

::

    StorageError
    └── StoreClosedError      the store was used after ``close()``
"""

from __future__ import annotations

__all__ = ["StorageError", "StoreClosedError"]


class StorageError(Exception):
    """Base class of every error the storage layer raises on purpose."""


class StoreClosedError(StorageError):
    """The store was used after it was closed (a shutdown race, never normal flow)."""
