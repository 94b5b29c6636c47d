"""Long answers: WeChat's 2048-byte limit, sentence-aware cuts, and "更多"."""

from __future__ import annotations

import re

import pytest

from wxloan.handlers.contract import Outcome, Turn
from wxloan.bot.paging import MAX_REPLY_BYTES, paginate
from wxloan.handlers.rendering import Renderer
from tests.conftest import rows

from .support import MORE_HINT, NO_MORE, router_for, say

_RENDERER = Renderer()


def footer(number: int, total: int) -> str:
    return _RENDERER.render_one("more_footer", {"page": number, "total": total})


def size(text: str) -> int:
    return len(text.encode("utf-8"))


def body_of(page: str) -> str:
    """A page without its footer line."""
    return re.sub(r"\n（第\d+/\d+页，回复“更多”看下一页）$", "", page)


def joined_text(pages: list[str]) -> str:
    return "".join(body_of(page) for page in pages)


# -- unit: paginate ------------------------------------------------------------------------


def test_exactly_2048_bytes_is_one_page_unchanged():
    text = "贷" * 682 + "ab"  # 682 * 3 + 2 = 2048 bytes
    assert size(text) == MAX_REPLY_BYTES
    assert paginate(text, footer) == [text]


def test_2049_bytes_is_split_into_pages_within_the_limit():
    text = "贷" * 683  # 2049 bytes
    pages = paginate(text, footer)
    assert len(pages) >= 2
    assert all(size(page) <= MAX_REPLY_BYTES for page in pages)
    assert joined_text(pages) == text


def test_every_page_but_the_last_has_a_numbered_footer():
    text = "这是一个关于借款的句子。" * 600
    pages = paginate(text, footer)
    total = len(pages)
    assert total >= 3
    for number, page in enumerate(pages[:-1], start=1):
        assert page.endswith(footer(number, total))
    assert MORE_HINT not in pages[-1]


def test_no_text_is_lost_and_order_is_kept():
    sentences = [f"第{i}句话说明一下利率和期限的问题。" for i in range(400)]
    text = "".join(sentences)
    pages = paginate(text, footer)
    assert all(size(page) <= MAX_REPLY_BYTES for page in pages)
    assert joined_text(pages) == text


def test_cuts_fall_at_sentence_ends_when_possible():
    text = "".join(f"第{i}句：日利率0.05%，按日计息，随借随还！" for i in range(300))
    pages = paginate(text, footer)
    assert len(pages) >= 2
    for page in pages[:-1]:
        assert body_of(page)[-1] in "。！？!?；;", body_of(page)[-10:]


def test_line_breaks_are_cut_points_and_only_they_are_dropped():
    lines = [f"第{i}行：提额建议，按时还款" for i in range(400)]
    text = "\n".join(lines)
    pages = paginate(text, footer)
    assert len(pages) >= 2
    assert all(size(page) <= MAX_REPLY_BYTES for page in pages)
    # each page body consists of whole lines
    for page in pages:
        for line in body_of(page).split("\n"):
            assert line in lines
    assert joined_text(pages).replace("\n", "") == text.replace("\n", "")


def test_single_huge_sentence_is_hard_split_without_loss():
    text = "没有标点的超长句子" * 700  # ~18.9 KB, no cut point at all
    pages = paginate(text, footer)
    assert len(pages) >= 10
    assert all(size(page) <= MAX_REPLY_BYTES for page in pages)
    assert joined_text(pages) == text


def test_hard_split_never_cuts_a_multibyte_character():
    text = "a" + "😀" * 1000  # 4-byte characters with a 1-byte offset
    pages = paginate(text, footer)
    assert joined_text(pages) == text  # would contain U+FFFD or fail if bytes were cut
    assert all(size(page) <= MAX_REPLY_BYTES for page in pages)


def test_huge_sentence_between_short_ones_keeps_order():
    text = "开头一句。" + "长" * 2000 + "。结尾一句。"
    pages = paginate(text, footer)
    assert all(size(page) <= MAX_REPLY_BYTES for page in pages)
    assert joined_text(pages) == text


@pytest.mark.parametrize("limit", [300, 600, 1000])
def test_smaller_limits_are_respected(limit):
    text = "每月还款额等于本金加利息。" * 200
    pages = paginate(text, footer, limit)
    assert all(size(page) <= limit for page in pages)
    assert joined_text(pages) == text


# -- end to end: "更多" --------------------------------------------------------------------

LONG_ANSWER = "".join(
    f"第{i}条：微粒贷按日计息，提前还款不收违约金，逾期会影响征信记录。" for i in range(1, 81)
)


OTHER_ANSWER = LONG_ANSWER.replace("微粒贷", "分付")


def _long_answer_router():
    async def long_answer(turn: Turn) -> Outcome:
        return turn.stay(say(OTHER_ANSWER if "分付" in turn.text else LONG_ANSWER))

    return router_for(long_answer, with_commands=True)


@pytest.mark.parametrize("mode", ["plain", "safe"])
async def test_more_walks_through_all_pages_then_says_no_more(make_wechat, db_path, mode):
    assert 5500 < size(LONG_ANSWER) < 8000
    wechat = await make_wechat(router=_long_answer_router())
    first = await wechat.text("user-p", "介绍一下微粒贷", mode=mode)
    assert first.status == 200
    assert size(first.content) <= MAX_REPLY_BYTES
    assert MORE_HINT in first.content
    pages = [first.content]
    for _ in range(10):
        reply = await wechat.text("user-p", "更多", mode=mode)
        assert reply.status == 200
        assert size(reply.content) <= MAX_REPLY_BYTES
        pages.append(reply.content)
        if MORE_HINT not in reply.content:
            break
    assert len(pages) >= 3
    assert MORE_HINT not in pages[-1]
    assert joined_text(pages) == LONG_ANSWER
    done = await wechat.text("user-p", "更多", mode=mode)
    assert NO_MORE in done.content
    assert rows(db_path, "SELECT pending_pages FROM sessions") == [("[]",)]


async def test_a_new_question_discards_the_pages_still_waiting(make_wechat):
    wechat = await make_wechat(router=_long_answer_router())
    await wechat.text("user-p", "介绍一下微粒贷")
    first = await wechat.text("user-p", "那分付呢")  # a fresh long answer
    assert "分付" in first.content and "微粒贷" not in first.content
    second = await wechat.text("user-p", "更多")
    assert "（第2/" in second.content
    assert "分付" in second.content and "微粒贷" not in second.content


async def test_more_without_a_long_answer_says_no_more(make_wechat):
    wechat = await make_wechat(router=_long_answer_router())
    reply = await wechat.text("user-p", "更多")
    assert NO_MORE in reply.content


async def test_default_dialogue_more_without_pages_says_no_more(wechat):
    reply = await wechat.text("user-p", "更多")
    assert NO_MORE in reply.content
