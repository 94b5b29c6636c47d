"""Personal numbers are masked in every form people type them, and nothing else is.

Tables of forms (``*`` and ``#`` around the number, brackets, full-width digits, Chinese
text on both sides, the separators and groupings people use), a table of look-alikes that
must stay as typed (dates, amounts, times, scores, long ids), properties over generated
numbers and surroundings, and the end-to-end check that each form gets the privacy notice
and never reaches the ``messages`` table.
"""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wxloan.storage import mask_personal_data
from tests.conftest import rows
from tests.test_bot.support import PRIVACY, dump_all_tables


def _digits(text: str) -> str:
    """Only the digits of ``text``, full-width ones as ASCII (independent of the module)."""
    return re.sub(r"[^0-9]", "", unicodedata.normalize("NFKC", text))


def _joined(text: str) -> str:
    """``text`` with full-width digits as ASCII and the separators between digits taken out,
    so a number typed in groups reads as one run of digits."""
    return re.sub(r"(?<=[0-9])[ \-./()\[\]【】*#]+(?=[0-9])", "", unicodedata.normalize("NFKC", text))


# -- forms that must be masked --------------------------------------------------------------

#: (text, masked text, kinds)
FORMS = [
    # a "*" or "#" next to the number used to defeat the boundary checks
    ("手机**13987654321**", "手机**139****4321**", {"mobile"}),
    ("身份证*44030419851231002X", "身份证*440304********002X", {"id"}),
    ("卡号6217000011112222333*", "卡号6217***********2333*", {"card"}),
    ("*13987654321*", "*139****4321*", {"mobile"}),
    ("#13987654321#", "#139****4321#", {"mobile"}),
    ("卡号#6217000011112222#", "卡号#6217********2222#", {"card"}),
    # mobile: separators and groupings
    ("手机139.8765.4321", "手机139****4321", {"mobile"}),
    ("手机(139)8765-4321", "手机139****4321", {"mobile"}),
    ("手机（139）8765-4321", "手机139****4321", {"mobile"}),
    ("手机【139】8765 4321", "手机139****4321", {"mobile"}),
    ("手机1398765 4321", "手机139****4321", {"mobile"}),  # 7-4
    ("手机139 87654321", "手机139****4321", {"mobile"}),  # 3-8
    ("手机1398 7654 321", "手机139****4321", {"mobile"}),  # 4-4-3
    ("手机139/8765/4321", "手机139****4321", {"mobile"}),
    ("手机139 - 8765 - 4321", "手机139****4321", {"mobile"}),
    ("手机139  8765  4321", "手机139****4321", {"mobile"}),
    ("手机139　8765　4321", "手机139****4321", {"mobile"}),  # ideographic spaces
    ("电话：139－8765－4321", "电话：139****4321", {"mobile"}),  # full-width hyphen
    ("手机１３９８７６５４３２１号", "手机139****4321号", {"mobile"}),  # full-width digits
    ("打我电话13987654321谢谢", "打我电话139****4321谢谢", {"mobile"}),
    ("wx13987654321", "wx139****4321", {"mobile"}),
    # mobile: country prefixes
    ("电话+86 (139) 8765 4321", "电话139****4321", {"mobile"}),
    ("电话(+86)13987654321", "电话139****4321", {"mobile"}),
    ("电话0086 139 8765 4321", "电话139****4321", {"mobile"}),
    ("电话+86-139-8765-4321", "电话139****4321", {"mobile"}),
    ("电话＋８６１３９８７６５４３２１", "电话139****4321", {"mobile"}),
    # 18-digit ID
    ("身份证44030419851231002X", "身份证440304********002X", {"id"}),
    ("身份证44030419851231002x。", "身份证440304********002x。", {"id"}),
    ("身份证440304 19851231 002X", "身份证440304********002X", {"id"}),  # 6-8-4
    ("身份证440304-1985-1231-002X", "身份证440304********002X", {"id"}),  # 6-4-4-4
    ("身份证（44030419851231002X）", "身份证（440304********002X）", {"id"}),
    ("身份证【44030419851231002X】", "身份证【440304********002X】", {"id"}),
    ("身份证４４０３０４１９８５１２３１００２Ｘ", "身份证440304********002X", {"id"}),
    # 15-digit (old) ID
    ("老身份证440304851231002", "老身份证440304******002", {"id"}),
    ("老身份证440304 851231 002", "老身份证440304******002", {"id"}),
    # bank card
    ("卡号6217 0000 1111 2222 333", "卡号6217***********2333", {"card"}),
    ("卡号6217-0000-1111-2222", "卡号6217********2222", {"card"}),
    ("卡号6217.0000.1111.2222.333", "卡号6217***********2333", {"card"}),
    ("卡号6217/0000/1111/2222", "卡号6217********2222", {"card"}),
    ("卡号６２１７　００００　１１１１　２２２２　３３３", "卡号6217***********2333", {"card"}),
    ("卡号(6217000011112222)", "卡号(6217********2222)", {"card"}),
    ("卡号6217000011112222333绑定", "卡号6217***********2333绑定", {"card"}),
    # several at once, amounts beside them stay
    (
        "借5000元，手机139.8765.4321，卡号6217 0000 1111 2222，身份证*44030419851231002X",
        "借5000元，手机139****4321，卡号6217********2222，身份证*440304********002X",
        {"mobile", "card", "id"},
    ),
    ("2024-01-15借的，电话13987654321", "2024-01-15借的，电话139****4321", {"mobile"}),
]


@pytest.mark.parametrize(("text", "masked", "kinds"), FORMS)
def test_form_is_masked(text, masked, kinds):
    result = mask_personal_data(text)
    assert result.text == masked
    assert result.kinds == frozenset(kinds)


@pytest.mark.parametrize(("text", "masked", "kinds"), FORMS)
def test_no_form_leaves_the_raw_digits(text, masked, kinds):
    result = mask_personal_data(text)
    numbers = re.findall(r"[0-9]{11,}", _joined(text))
    assert numbers
    for number in numbers:
        assert number[-11:] not in _joined(result.text)


@pytest.mark.parametrize(("text", "masked", "kinds"), FORMS)
def test_masking_a_form_again_changes_nothing(text, masked, kinds):
    once = mask_personal_data(text)
    twice = mask_personal_data(once.text)
    assert twice.text == once.text
    assert twice.kinds == frozenset()


# -- look-alikes that must stay as typed ------------------------------------------------------

NOT_PERSONAL = [
    "2024-01-15",
    "2024.1.15",
    "2024/01/15",
    "20240115",
    "2024年1月15日",
    "账单日20240115，还款日20240215",
    "20240115 20240215",  # two dates are not an 8-8 card
    "2024-01-15 2024-02-15 14:30",
    "5000元",
    "借10,000元",
    "1.5万",
    "12000.50",
    "额度 100,000.00 元",
    "月供1380.50，共24期",
    "14:30",
    "14:30:00",
    "明天下午3点15分",
    "支付分650",
    "650分",
    "芝麻分 720，支付分650",
    "借1000 2000 3000都行",
    "23451234567890123456",  # a 20-digit id is not a card
    "msgid 1234567890123456789012",
    "订单号1234567890123",  # 13 digits: nothing
    "12345678901",  # 11 digits without a mobile prefix
    "12-345-678-901",
    "000000000000000",  # 15 digits that are not an old ID
    "139 8765",  # too short
    "已经脱敏的139****4321",
    "身份证110101********123X，卡6222***********8901",
    "老身份证110101******123",
]


@pytest.mark.parametrize("text", NOT_PERSONAL)
def test_look_alike_is_left_alone(text):
    result = mask_personal_data(text)
    assert result.text == text
    assert result.kinds == frozenset()


# -- properties --------------------------------------------------------------------------------

SEPARATORS = [" ", "\u3000", "-", ".", "/", " - ", "  ", "－", "．", "／", "- ", " /"]
PROVINCES = ["11", "12", "13", "31", "32", "33", "37", "41", "44", "45", "50", "51", "61", "65"]
# Surroundings: anything but digits (a digit directly beside a number makes it a longer run).
SURROUNDING = st.text(
    alphabet=st.sampled_from(list("我的手机号身份证卡是谢谢，。：！？*#@()（）【】[] -xX+abc\u3000")),
    max_size=8,
)


def _digit_text(size: int) -> st.SearchStrategy[str]:
    return st.text("0123456789", min_size=size, max_size=size)


def _group(digits: str, sizes: list[int], draw) -> str:
    parts, at = [], 0
    for size in sizes:
        parts.append(digits[at : at + size])
        at += size
    return "".join(
        part + (draw(st.sampled_from(SEPARATORS)) if i < len(parts) - 1 else "")
        for i, part in enumerate(parts)
    )


@st.composite
def mobiles(draw) -> tuple[str, str, str]:
    digits = "1" + draw(st.sampled_from("3456789")) + draw(_digit_text(9))
    shape = draw(st.sampled_from([[11], [3, 4, 4], [3, 8], [7, 4], [4, 4, 3], "bracket"]))
    if shape == "bracket":
        opening, closing = draw(st.sampled_from(["()", "（）", "【】", "[]"]))
        typed = f"{opening}{digits[:3]}{closing}" + draw(st.sampled_from(["", *SEPARATORS]))
        typed += _group(digits[3:], [4, 4], draw)
    else:
        typed = _group(digits, shape, draw)
    prefix = draw(st.sampled_from(["", "+86", "86", "0086", "(+86)", "（+86）", "＋86"]))
    if prefix:
        typed = prefix + draw(st.sampled_from(["", " ", "-"])) + typed
    return digits, typed, "mobile"


@st.composite
def ids(draw) -> tuple[str, str, str]:
    year = draw(st.integers(1930, 2020))
    month = draw(st.integers(1, 12))
    day = draw(st.integers(1, 28))
    region = draw(st.sampled_from(PROVINCES)) + draw(_digit_text(4))
    serial = draw(_digit_text(3))
    if draw(st.booleans()):
        digits = f"{region}{year:04d}{month:02d}{day:02d}{serial}"
        digits += draw(st.sampled_from("0123456789Xx"))
        shape = draw(st.sampled_from([[18], [6, 8, 4], [6, 4, 4, 4]]))
    else:
        digits = f"{region}{year % 100:02d}{month:02d}{day:02d}{serial}"
        shape = draw(st.sampled_from([[15], [6, 6, 3]]))
        if year % 100 < 20:
            digits = digits[:6] + "85" + digits[8:]
    return digits, _group(digits, shape, draw), "id"


@st.composite
def cards(draw) -> tuple[str, str, str]:
    length = draw(st.integers(16, 19))
    digits = draw(st.sampled_from("3456")) + draw(_digit_text(length - 1))
    shape = draw(st.sampled_from([[length], [4, 4, 4, 4] + ([length - 16] if length > 16 else [])]))
    return digits, _group(digits, shape, draw), "card"


def _widen(text: str, which: list[bool]) -> str:
    """Some digits as a full-width IME types them."""
    return "".join(
        chr(ord(c) + 0xFEE0) if c.isdigit() and wide else c
        for c, wide in zip(text, which + [False] * len(text))
    )


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    number=st.one_of(mobiles(), ids(), cards()),
    before=SURROUNDING,
    after=SURROUNDING,
    wide=st.lists(st.booleans(), max_size=30),
)
def test_a_generated_number_never_survives(number, before, after, wide):
    digits, typed, kind = number
    text = before + _widen(typed, wide) + after
    result = mask_personal_data(text)
    assert digits.rstrip("Xx") not in _digits(result.text)
    assert len(_digits(result.text)) <= 10  # a mask keeps at most 6 + 4 digits
    expected = {kind, "id"} if kind == "card" and len(digits) == 18 else {kind}
    assert result.kinds and result.kinds <= expected  # an 18-digit card may read as an ID
    again = mask_personal_data(result.text)
    assert again.text == result.text
    assert again.kinds == frozenset()


# Digits, separators, stars, prefixes and brackets: the text most likely to break idempotence.
ADVERSARIAL = "0123456789*- ./()[]+Xx１３（）【】　＋元号#"


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(alphabet=st.sampled_from(list(ADVERSARIAL)), max_size=14),
            st.sampled_from(
                [
                    "13987654321",
                    "+86",
                    "(139)",
                    "44030419851231002X",
                    "440304851231002",
                    "6217000011112222333",
                    " 1234 5678",
                    "139****4321",
                    "440304********002X",
                    "6217***********2333",
                ]
            ),
        ),
        max_size=8,
    ).map("".join)
)
def test_masking_is_idempotent_on_any_text(text):
    once = mask_personal_data(text)
    twice = mask_personal_data(once.text)
    assert twice.text == once.text
    assert twice.kinds == frozenset()


_YMD = (st.integers(1990, 2030), st.integers(1, 12), st.integers(1, 28))
DATES_AND_AMOUNTS = st.one_of(
    st.builds("{:04d}-{:02d}-{:02d}".format, *_YMD),
    st.builds("{:04d}.{}.{}".format, *_YMD),
    st.builds("{:04d}/{:02d}/{:02d}".format, *_YMD),
    st.builds("{:04d}{:02d}{:02d}".format, *_YMD),
    st.builds("{}年{}月{}日".format, *_YMD),
    st.builds("{}元".format, st.integers(1, 10**7)),
    st.builds("{:,}".format, st.integers(1000, 10**9)),
    st.builds("{:.2f}".format, st.floats(0, 10**6, allow_nan=False)),
    st.builds("{}.{}万".format, st.integers(1, 500), st.integers(1, 9)),
    st.builds("{:02d}:{:02d}".format, st.integers(0, 23), st.integers(0, 59)),
    st.builds("{:02d}:{:02d}:{:02d}".format, *(st.integers(0, n) for n in (23, 59, 59))),
    st.builds("支付分{}".format, st.integers(300, 850)),
    st.builds("{}分".format, st.integers(300, 850)),
    st.builds("{}期".format, st.integers(1, 36)),
)


# Joined by words or punctuation: with a bare space between them, an amount 130–199 and an
# 8-digit date ("150 20240115") do read as a mobile typed 3-8; that is accepted.
JOINTS = st.sampled_from(["，", "。", "借", "还", "到 ", "、", " 和 "])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(DATES_AND_AMOUNTS, JOINTS), max_size=6))
def test_dates_amounts_times_and_scores_are_never_masked(items):
    text = "".join(value + joint for value, joint in items)
    result = mask_personal_data(text)
    assert result.text == text
    assert result.kinds == frozenset()


# -- end to end: the privacy notice, and nothing raw in the messages table -------------------

E2E_FORMS = [
    ("手机**13987654321**", "13987654321"),
    ("身份证*44030419851231002X", "44030419851231002"),
    ("卡号6217000011112222333*", "6217000011112222333"),
    ("我的手机139.8765.4321", "13987654321"),
    ("我的手机(139)8765-4321", "13987654321"),
    ("我的手机1398765 4321", "13987654321"),
    ("我的手机1398 7654 321", "13987654321"),
    ("电话+86 (139) 8765 4321", "13987654321"),
    ("电话０086 139 8765 4321", "13987654321"),
    ("手机号【１３９８７６５４３２１】", "13987654321"),
    ("身份证440304 19851231 002X", "44030419851231002"),
    ("身份证（440304-1985-1231-002X）", "44030419851231002"),
    ("老身份证440304 851231 002", "440304851231002"),
    ("卡号６２１７　００００　１１１１　２２２２", "6217000011112222"),
    ("卡号#6217.0000.1111.2222.333#", "6217000011112222333"),
]


@pytest.mark.parametrize(("text", "raw"), E2E_FORMS)
async def test_each_form_gets_the_privacy_notice_and_is_not_stored(wechat, db_path, text, raw):
    reply = await wechat.text("user-forms", text)
    assert reply.status == 200
    assert PRIVACY in reply.content
    assert raw not in _joined(reply.content)
    contents = rows(db_path, "SELECT direction, content FROM messages")
    assert {direction for direction, _ in contents} == {"in", "out"}
    for _, content in contents:
        assert raw not in _joined(content)
    assert raw not in _joined(dump_all_tables(db_path))
