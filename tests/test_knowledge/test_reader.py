"""The one TOML table reader: every getter, its defaults, and the message of every refusal."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

import pytest

from wxloan.knowledge import DataError
from wxloan.knowledge.reader import TableReader, type_name

Read = Callable[[TableReader], object]


def _reader(text: str) -> TableReader:
    return TableReader.parse("f.toml", text, parse_float=Decimal)


def _nested(read: Read) -> Read:
    """``read`` applied to the second table of ``outer.inner``."""
    return lambda r: read(r.table("outer").tables("inner")[1])


#: (TOML, what to read, the value it gives)
VALUES = [
    pytest.param("n = 3", lambda r: r.integer("n"), 3, id="integer"),
    pytest.param("n = -3", lambda r: r.integer("n", 7), -3, id="integer-present-beats-default"),
    pytest.param("", lambda r: r.integer("n", 7), 7, id="integer-default"),
    pytest.param("n = 3", lambda r: r.optional_integer("n"), 3, id="optional-integer"),
    pytest.param("", lambda r: r.optional_integer("n"), None, id="optional-integer-absent"),
    pytest.param("x = 2", lambda r: r.number("x"), Decimal(2), id="number-int"),
    pytest.param("x = 10.8", lambda r: r.number("x"), Decimal("10.8"), id="number-exact"),
    pytest.param("", lambda r: r.number("x", Decimal("2.5")), Decimal("2.5"), id="number-default"),
    pytest.param('s = "a"', lambda r: r.string("s"), "a", id="string"),
    pytest.param("", lambda r: r.string("s", "mid"), "mid", id="string-default"),
    pytest.param('s = ""', lambda r: r.string("s", blank=True), "", id="string-blank-allowed"),
    pytest.param("", lambda r: r.string("s", "", blank=True), "", id="string-blank-default"),
    pytest.param('s = "a"', lambda r: r.optional_string("s"), "a", id="optional-string"),
    pytest.param("", lambda r: r.optional_string("s"), None, id="optional-string-absent"),
    pytest.param("b = false", lambda r: r.boolean("b"), False, id="boolean"),
    pytest.param("", lambda r: r.boolean("b", True), True, id="boolean-default"),
    pytest.param('w = ["a", " ", "\\n"]', lambda r: r.strings("w"), ("a", " ", "\n"), id="strings"),
    pytest.param("w = []", lambda r: r.strings("w"), (), id="strings-may-be-empty"),
    pytest.param("", lambda r: r.strings("w", ()), (), id="strings-default"),
    pytest.param("", lambda r: r.strings("w", ("x",)), ("x",), id="strings-other-default"),
    pytest.param("[t]\nn = 1", lambda r: r.table("t").integer("n"), 1, id="table"),
    pytest.param("", lambda r: r.table("t", required=False).names(), (), id="table-optional"),
    pytest.param(
        "", lambda r: r.table("t", required=False).integer("n", 5), 5, id="table-optional-defaults"
    ),
    pytest.param(
        "[[t]]\nn = 1\n[[t]]\nn = 2",
        lambda r: [t.integer("n") for t in r.tables("t")],
        [1, 2],
        id="tables",
    ),
    pytest.param("", lambda r: r.tables("t", required=False), (), id="tables-optional"),
    pytest.param("t = []", lambda r: r.tables("t", required=False), (), id="tables-optional-empty"),
    pytest.param("a = 1\nb = 2", lambda r: r.names(), ("a", "b"), id="names-in-file-order"),
    pytest.param("v = 1.5", lambda r: r.value("v"), Decimal("1.5"), id="value"),
    pytest.param("", lambda r: r.value("v", None), None, id="value-default"),
    pytest.param(
        "[outer]\n[[outer.inner]]\n[[outer.inner]]\nn = 4",
        _nested(lambda r: r.integer("n")),
        4,
        id="nested",
    ),
]


@pytest.mark.parametrize(("text", "read", "expected"), VALUES)
def test_getter_values_and_defaults(text: str, read: Read, expected: object) -> None:
    reader = _reader(text)
    value = read(reader)
    assert value == expected
    assert type(value) is type(expected)


#: (TOML, what to read, the whole message)
REFUSALS = [
    # missing keys
    pytest.param("", lambda r: r.integer("n"), "f.toml: n: missing", id="missing-integer"),
    pytest.param("", lambda r: r.number("x"), "f.toml: x: missing", id="missing-number"),
    pytest.param("", lambda r: r.string("s"), "f.toml: s: missing", id="missing-string"),
    pytest.param("", lambda r: r.boolean("b"), "f.toml: b: missing", id="missing-boolean"),
    pytest.param("", lambda r: r.strings("w"), "f.toml: w: missing", id="missing-strings"),
    pytest.param("", lambda r: r.table("t"), "f.toml: t: missing", id="missing-table"),
    pytest.param("", lambda r: r.tables("t"), "f.toml: t: missing", id="missing-tables"),
    pytest.param("", lambda r: r.value("v"), "f.toml: v: missing", id="missing-value"),
    # wrong types
    pytest.param(
        'n = "3"', lambda r: r.integer("n"), "f.toml: n: expected integer, got str", id="int-str"
    ),
    pytest.param(
        "n = true", lambda r: r.integer("n"), "f.toml: n: expected integer, got bool", id="int-bool"
    ),
    pytest.param(
        "n = 3.0",
        lambda r: r.integer("n"),
        "f.toml: n: expected integer, got float",
        id="int-float",
    ),
    pytest.param(
        "n = 1.5",
        lambda r: r.optional_integer("n"),
        "f.toml: n: expected integer, got float",
        id="optional-int-float",
    ),
    pytest.param(
        'n = "x"',
        lambda r: r.integer("n", 7),
        "f.toml: n: expected integer, got str",
        id="int-with-default-still-typed",
    ),
    pytest.param(
        'x = "10.8%"', lambda r: r.number("x"), "f.toml: x: expected number, got str", id="num-str"
    ),
    pytest.param(
        "x = false", lambda r: r.number("x"), "f.toml: x: expected number, got bool", id="num-bool"
    ),
    pytest.param(
        "s = 1", lambda r: r.string("s"), "f.toml: s: expected string, got int", id="string-int"
    ),
    pytest.param(
        's = "  "', lambda r: r.string("s"), "f.toml: s: must not be empty", id="string-blank"
    ),
    pytest.param(
        's = ""',
        lambda r: r.optional_string("s"),
        "f.toml: s: must not be empty",
        id="optional-string-blank",
    ),
    pytest.param(
        "s = 1",
        lambda r: r.string("s", "d", blank=True),
        "f.toml: s: expected string, got int",
        id="blank-string-still-typed",
    ),
    pytest.param(
        'b = "yes"', lambda r: r.boolean("b"), "f.toml: b: expected boolean, got str", id="bool-str"
    ),
    pytest.param(
        "b = 1",
        lambda r: r.boolean("b", False),
        "f.toml: b: expected boolean, got int",
        id="bool-int",
    ),
    pytest.param(
        'w = "a"',
        lambda r: r.strings("w"),
        "f.toml: w: expected array of strings, got str",
        id="strings-str",
    ),
    pytest.param(
        'w = ["a", 1]',
        lambda r: r.strings("w", ()),
        "f.toml: w[1]: expected string, got int",
        id="strings-item-type",
    ),
    pytest.param(
        'w = ["a", ""]',
        lambda r: r.strings("w"),
        "f.toml: w[1]: must not be empty",
        id="strings-item-empty",
    ),
    pytest.param(
        "w = [[]]", lambda r: r.strings("w"), "f.toml: w[0]: expected string, got array", id="array"
    ),
    pytest.param(
        "t = 1", lambda r: r.table("t"), "f.toml: t: expected table, got int", id="table-int"
    ),
    pytest.param(
        "t = [1]",
        lambda r: r.table("t", required=False),
        "f.toml: t: expected table, got array",
        id="optional-table-array",
    ),
    pytest.param(
        "[t]",
        lambda r: r.tables("t"),
        "f.toml: t: expected array of tables, got table",
        id="tables-table",
    ),
    pytest.param(
        "t = [{}, 1]",
        lambda r: r.tables("t", required=False),
        "f.toml: t[1]: expected table, got int",
        id="tables-item",
    ),
    pytest.param(
        "t = []", lambda r: r.tables("t"), "f.toml: t: must not be empty", id="tables-empty"
    ),
    # unknown keys: the first one nobody read, in file order
    pytest.param(
        "a = 1\nnte = 2\nzz = 3",
        lambda r: (r.integer("a"), r.finish()),
        "f.toml: nte: unexpected field",
        id="unexpected",
    ),
    pytest.param(
        "a = 1",
        lambda r: (r.has("a"), r.finish()),
        "f.toml: a: unexpected field",
        id="has-is-not-a-read",
    ),
    pytest.param(
        "a = 1",
        lambda r: (r.integer("b", 0), r.finish()),
        "f.toml: a: unexpected field",
        id="defaulted-key-is-not-the-present-one",
    ),
    # nested tables and arrays of tables: the path, with indexes, is in the message
    pytest.param(
        "[outer]\n[[outer.inner]]\nn = 1\n[[outer.inner]]\nm = 2",
        _nested(lambda r: r.integer("n")),
        "f.toml: outer.inner[1].n: missing",
        id="nested-missing",
    ),
    pytest.param(
        '[outer]\n[[outer.inner]]\n[[outer.inner]]\nn = "4"',
        _nested(lambda r: r.integer("n")),
        "f.toml: outer.inner[1].n: expected integer, got str",
        id="nested-wrong-type",
    ),
    pytest.param(
        '[outer]\n[[outer.inner]]\n[[outer.inner]]\nw = ["a", 2]',
        _nested(lambda r: r.strings("w")),
        "f.toml: outer.inner[1].w[1]: expected string, got int",
        id="nested-item",
    ),
    pytest.param(
        "[outer]\n[[outer.inner]]\n[[outer.inner]]\nn = 4\nnn = 5",
        _nested(lambda r: (r.integer("n"), r.finish())),
        "f.toml: outer.inner[1].nn: unexpected field",
        id="nested-unexpected",
    ),
    pytest.param(
        "[a.b.c]\nd = 1",
        lambda r: r.table("a").table("b").table("c").string("d"),
        "f.toml: a.b.c.d: expected string, got int",
        id="dotted-tables",
    ),
    pytest.param(
        "[a]\n[a.b]",
        lambda r: r.table("a").table("b", required=False).table("c", required=False).integer("n"),
        "f.toml: a.b.c.n: missing",
        id="absent-optional-table-keeps-its-path",
    ),
]


@pytest.mark.parametrize(("text", "read", "message"), REFUSALS)
def test_refusals_name_file_and_field(text: str, read: Read, message: str) -> None:
    reader = _reader(text)
    with pytest.raises(DataError) as caught:
        read(reader)
    assert str(caught.value) == message


def test_finish_accepts_every_key_read() -> None:
    reader = _reader('a = 1\nb = "x"\n[t]\nc = true\n[[u]]\n[[u]]\nd = [1]')
    reader.integer("a")
    reader.optional_string("b")
    reader.table("t").names()
    for index, table in enumerate(reader.tables("u")):
        table.value("d", None)
        table.finish()
        assert index < 2
    reader.finish()  # nothing left unread
    empty = _reader("")
    empty.optional_integer("gone")
    empty.tables("gone_too", required=False)
    empty.finish()


def test_names_count_as_read_but_has_does_not() -> None:
    reader = _reader("a = 1\nb = 2")
    assert reader.has("a") and not reader.has("c")
    assert reader.names() == ("a", "b")
    reader.finish()


def test_own_checks_use_the_same_location() -> None:
    reader = _reader("[[tiers]]\nmax = 1")
    tier = reader.tables("tiers")[0]
    assert tier.where("max") == "f.toml: tiers[0].max"
    assert str(tier.error("max", "must be in 2..9, got 1")) == (
        "f.toml: tiers[0].max: must be in 2..9, got 1"
    )
    assert reader.where("tiers") == "f.toml: tiers"


class _CallerError(ValueError):
    pass


def test_the_caller_chooses_the_exception_and_it_reaches_sub_tables() -> None:
    reader = TableReader.parse("lexicon.toml", "[a]\n[[a.b]]\nn = 'x'", error=_CallerError)
    with pytest.raises(_CallerError, match=r"^lexicon\.toml: a\.b\[0\]\.n: expected integer"):
        reader.table("a").tables("b")[0].integer("n")
    with pytest.raises(_CallerError, match=r"^lexicon\.toml: z: missing$"):
        reader.value("z")
    with pytest.raises(_CallerError, match=r"^menu\.toml: invalid TOML: "):
        TableReader.parse("menu.toml", "a = = 1", error=_CallerError)


def test_invalid_toml_names_the_file() -> None:
    with pytest.raises(DataError, match=r"^f\.toml: invalid TOML: .*line 2"):
        _reader("a = 1\nb = = 2\n")


def test_floats_are_floats_unless_decimal_is_asked_for() -> None:
    as_float = TableReader.parse("f.toml", "x = 0.1")
    assert type(as_float.value("x")) is float
    assert as_float.number("x") == Decimal.from_float(0.1)  # exactly the float, as parsed
    assert float(as_float.number("x")) == 0.1
    assert _reader("x = 0.1").number("x") == Decimal("0.1")


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ("s", "str"),
        (1, "int"),
        (True, "bool"),
        (1.5, "float"),
        (Decimal("1.5"), "float"),
        ({}, "table"),
        ([], "array"),
        (datetime(2025, 3, 1), "datetime"),
    ],
)
def test_type_names(value: object, name: str) -> None:
    assert type_name(value) == name
