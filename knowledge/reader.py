"""The one reader of the project's TOML data, with errors naming file and field.

The knowledge base (``knowledge/loader.py``), the understander's lexicon
(``handlers/nlu/lexicon.py``) and the custom menu (``handlers/menu.py``) all read
their files through :class:`TableReader`, so every message has one shape::

    products.toml: products[1].min_pay_score: expected integer, got str
    lexicon.toml: intents.greeting.weight: expected number, got str
    menu.toml: buttons[0].flow: expected one of eligibility, limits, rejection, got 'x'

A getter without a ``default`` requires the key (``…: missing``); with one, an
absent key gives the default. Every getter records the key it read, and
:meth:`TableReader.finish` rejects any key nobody read, so a misspelt optional
field (``nte = …``) fails instead of being silently dropped. Array indexes in
messages are 0-based, as in Python. The reader only parses text: callers do the
file I/O, and choose the exception raised (``DataError`` unless told otherwise).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from decimal import Decimal
from enum import Enum
from typing import Any, Final

from .errors import DataError

__all__ = ["ErrorFactory", "TableReader", "type_name"]

#: Builds the exception raised for a message, e.g. ``DataError`` or ``LexiconError``.
ErrorFactory = Callable[[str], Exception]

_TYPE_NAMES: dict[type, str] = {
    str: "str",
    int: "int",
    bool: "bool",
    float: "float",
    Decimal: "float",
    dict: "table",
    list: "array",
}


def type_name(value: object) -> str:
    """The TOML-ish name of a parsed value's type, for error messages."""
    return _TYPE_NAMES.get(type(value), type(value).__name__)


class _Required(Enum):
    """The ``default`` of a getter whose key must be present."""

    REQUIRED = "required"


_REQUIRED: Final = _Required.REQUIRED


class TableReader:
    """Reads typed fields from one TOML table.

    :param file: data file name, first part of every message
    :param path: dotted path of this table inside the file ("" for the top level)
    :param data: the parsed table
    :param error: builds the exception for a message (default :class:`DataError`)
    """

    __slots__ = ("_data", "_error", "_file", "_path", "_seen")

    def __init__(
        self,
        file: str,
        path: str,
        data: Mapping[str, object],
        *,
        error: ErrorFactory = DataError,
    ) -> None:
        self._file = file
        self._path = path
        self._data = data
        self._error = error
        self._seen: set[str] = set()

    @classmethod
    def parse(
        cls,
        file: str,
        text: str,
        *,
        parse_float: Callable[[str], Any] = float,
        error: ErrorFactory = DataError,
    ) -> TableReader:
        """Parse TOML text into a reader of its top-level table.

        :param parse_float: as in :func:`tomllib.loads` (``Decimal`` keeps floats exact)
        :raises: ``error("file: invalid TOML: …")`` on a syntax error
        """
        try:
            data = tomllib.loads(text, parse_float=parse_float)
        except tomllib.TOMLDecodeError as exc:
            raise error(f"{file}: invalid TOML: {exc}") from None
        return cls(file, "", data, error=error)

    # -- messages --------------------------------------------------------------

    def where(self, key: str) -> str:
        """``file: path.key``, the location prefix of a message."""
        return f"{self._file}: {self._join(key)}"

    def error(self, key: str, problem: str) -> Exception:
        """The exception about one field of this table (``raise r.error(...)``)."""
        return self._error(f"{self.where(key)}: {problem}")

    def _wrong(self, key: str, expected: str, value: object) -> Exception:
        return self.error(key, f"expected {expected}, got {type_name(value)}")

    # -- raw access ------------------------------------------------------------

    def has(self, key: str) -> bool:
        """Whether the table holds this key (does not count as reading it)."""
        return key in self._data

    def names(self) -> tuple[str, ...]:
        """Every key, in file order; all count as read."""
        self._seen.update(self._data)
        return tuple(self._data)

    def value(self, key: str, default: object = _REQUIRED) -> object:
        """The untyped value of a key, for shapes the typed getters do not cover."""
        self._seen.add(key)
        value = self._data.get(key, default)
        if value is _REQUIRED:
            raise self.error(key, "missing")
        return value

    # -- scalars ---------------------------------------------------------------

    def integer(self, key: str, default: int | _Required = _REQUIRED) -> int:
        """An integer (booleans are not integers here)."""
        value = self.value(key, default)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self._wrong(key, "integer", value)
        return value

    def optional_integer(self, key: str) -> int | None:
        """An integer, or None when the key is absent."""
        if key not in self._data:
            self._seen.add(key)
            return None
        return self.integer(key)

    def number(self, key: str, default: Decimal | _Required = _REQUIRED) -> Decimal:
        """An integer or float, as an exact Decimal (of the float as parsed)."""
        value = self.value(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            raise self._wrong(key, "number", value)
        return Decimal(value)

    def string(self, key: str, default: str | _Required = _REQUIRED, *, blank: bool = False) -> str:
        """A string; empty or whitespace-only only when ``blank`` is true."""
        value = self.value(key, default)
        if not isinstance(value, str):
            raise self._wrong(key, "string", value)
        if not blank and not value.strip():
            raise self.error(key, "must not be empty")
        return value

    def optional_string(self, key: str) -> str | None:
        """A non-blank string, or None when the key is absent."""
        if key not in self._data:
            self._seen.add(key)
            return None
        return self.string(key)

    def boolean(self, key: str, default: bool | _Required = _REQUIRED) -> bool:
        """A boolean."""
        value = self.value(key, default)
        if not isinstance(value, bool):
            raise self._wrong(key, "boolean", value)
        return value

    # -- arrays and tables -------------------------------------------------------

    def strings(
        self, key: str, default: tuple[str, ...] | _Required = _REQUIRED
    ) -> tuple[str, ...]:
        """An array of non-empty strings (may be an empty array; " " and "\\n" are kept)."""
        value = self.value(key, default)
        if isinstance(value, tuple):  # the default
            return value
        if not isinstance(value, list):
            raise self._wrong(key, "array of strings", value)
        for index, item in enumerate(value):
            if not isinstance(item, str):
                raise self.error(f"{key}[{index}]", f"expected string, got {type_name(item)}")
            if not item:
                raise self.error(f"{key}[{index}]", "must not be empty")
        return tuple(value)

    def table(self, key: str, *, required: bool = True) -> TableReader:
        """A sub-table; an empty one when optional and absent."""
        if not required and key not in self._data:
            self._seen.add(key)
            return self._child(key, {})
        value = self.value(key)
        if not isinstance(value, dict):
            raise self._wrong(key, "table", value)
        return self._child(key, value)

    def tables(self, key: str, *, required: bool = True) -> tuple[TableReader, ...]:
        """An array of tables (``[[key]]``): non-empty if required, else maybe absent."""
        if not required and key not in self._data:
            self._seen.add(key)
            return ()
        value = self.value(key)
        if not isinstance(value, list):
            raise self._wrong(key, "array of tables", value)
        readers = []
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                raise self.error(f"{key}[{index}]", f"expected table, got {type_name(item)}")
            readers.append(self._child(f"{key}[{index}]", item))
        if required and not readers:
            raise self.error(key, "must not be empty")
        return tuple(readers)

    def finish(self) -> None:
        """Reject the first key (in file order) that no getter read."""
        for key in self._data:
            if key not in self._seen:
                raise self.error(key, "unexpected field")

    def _child(self, key: str, data: Mapping[str, object]) -> TableReader:
        return TableReader(self._file, self._join(key), data, error=self._error)

    def _join(self, key: str) -> str:
        return f"{self._path}.{key}" if self._path else key
