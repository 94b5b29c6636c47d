"""Typed field access to one parsed TOML table, with errors naming file and field.

Every getter records the key it read; :meth:`TableReader.finish` then rejects any
key nobody read, so a misspelt optional field (``nte = …``) fails instead of being
silently dropped. Array indexes in messages are 0-based, as in Python.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from .errors import DataError

__all__ = ["TableReader", "type_name"]

_TYPE_NAMES: dict[type, str] = {
    str: "str",
    int: "int",
    bool: "bool",
    Decimal: "float",
    dict: "table",
    list: "array",
}


def type_name(value: object) -> str:
    """The TOML-ish name of a parsed value's type, for error messages."""
    return _TYPE_NAMES.get(type(value), type(value).__name__)


class TableReader:
    """Reads typed fields from one TOML table.

    :param file: data file name, first part of every message
    :param path: dotted path of this table inside the file ("" for the top level)
    :param data: the parsed table
    """

    __slots__ = ("_data", "_file", "_path", "_seen")

    def __init__(self, file: str, path: str, data: Mapping[str, object]) -> None:
        self._file = file
        self._path = path
        self._data = data
        self._seen: set[str] = set()

    def where(self, key: str) -> str:
        """``file: path.key``, the location prefix of a message."""
        dotted = f"{self._path}.{key}" if self._path else key
        return f"{self._file}: {dotted}"

    def error(self, key: str, problem: str) -> DataError:
        """A DataError about one field of this table."""
        return DataError(f"{self.where(key)}: {problem}")

    def has(self, key: str) -> bool:
        """Whether the table holds this key."""
        return key in self._data

    def _get(self, key: str) -> object:
        self._seen.add(key)
        if key not in self._data:
            raise self.error(key, "missing")
        return self._data[key]

    def _wrong(self, key: str, expected: str, value: object) -> DataError:
        return self.error(key, f"expected {expected}, got {type_name(value)}")

    def integer(self, key: str) -> int:
        """A required integer (booleans are not integers here)."""
        value = self._get(key)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self._wrong(key, "integer", value)
        return value

    def optional_integer(self, key: str) -> int | None:
        """An integer, or None when the key is absent."""
        if key not in self._data:
            self._seen.add(key)
            return None
        return self.integer(key)

    def number(self, key: str) -> Decimal:
        """A required integer or float, as an exact Decimal."""
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            raise self._wrong(key, "number", value)
        return Decimal(value)

    def string(self, key: str) -> str:
        """A required non-blank string."""
        value = self._get(key)
        if not isinstance(value, str):
            raise self._wrong(key, "string", value)
        if not value.strip():
            raise self.error(key, "must not be empty")
        return value

    def optional_string(self, key: str) -> str | None:
        """A non-blank string, or None when the key is absent."""
        if key not in self._data:
            self._seen.add(key)
            return None
        return self.string(key)

    def boolean(self, key: str) -> bool:
        """A required boolean."""
        value = self._get(key)
        if not isinstance(value, bool):
            raise self._wrong(key, "boolean", value)
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        """A required array of strings."""
        value = self._get(key)
        if not isinstance(value, list):
            raise self._wrong(key, "array of strings", value)
        for index, item in enumerate(value):
            if not isinstance(item, str):
                raise self.error(f"{key}[{index}]", f"expected string, got {type_name(item)}")
        return tuple(value)

    def table(self, key: str) -> TableReader:
        """A required sub-table."""
        value = self._get(key)
        if not isinstance(value, dict):
            raise self._wrong(key, "table", value)
        return TableReader(self._file, self._join(key), value)

    def tables(self, key: str, *, required: bool = True) -> tuple[TableReader, ...]:
        """An array of tables (``[[key]]``); empty when optional and absent."""
        if not required and key not in self._data:
            self._seen.add(key)
            return ()
        value = self._get(key)
        if not isinstance(value, list):
            raise self._wrong(key, "array of tables", value)
        readers = []
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                raise self.error(f"{key}[{index}]", f"expected table, got {type_name(item)}")
            readers.append(TableReader(self._file, self._join(f"{key}[{index}]"), item))
        if required and not readers:
            raise self.error(key, "must not be empty")
        return tuple(readers)

    def finish(self) -> None:
        """Reject any key that no getter read."""
        for key in self._data:
            if key not in self._seen:
                raise self.error(key, "unexpected field")

    def _join(self, key: str) -> str:
        return f"{self._path}.{key}" if self._path else key
