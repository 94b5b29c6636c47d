"""Limit tips, answer first: the plan from the whole article at once, then at most two questions."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from wxloan.handlers.flows import QUICK_QUESTIONS
from wxloan.handlers.states import Flow
from wxloan.knowledge import (
    ApplicantProfile,
    Identity,
    Material,
    Overdue,
    limit_plan,
    next_question,
)

ANSWERS = {
    "overdue": "没有",
    "materials": "没有",
    "ontime_periods": "六期",
    "lingqiantong_balance": "五千",
    "pay_score": "720",
}


def profile_of(slots) -> ApplicantProfile:
    return ApplicantProfile.from_mapping(dict(slots))


async def finish(chat, reply):
    """Answer every question until the plan; returns the last reply and the questions asked."""
    asked = 0
    while reply.outcome.step is not None:
        asked += 1
        assert asked <= QUICK_QUESTIONS, reply.slots
        reply = await chat.text(ANSWERS[reply.outcome.step], reply.state)
    return reply, asked


@pytest.mark.parametrize("text", ["怎么提额", "额度太低了怎么提高额度"])
async def test_asking_how_to_raise_the_limit_starts_the_tips(chat, kb, text):
    reply = await chat.text(text)
    assert reply.outcome.flow == Flow.LIMITS
    assert reply.names == ["card_limits", "ask"]  # the plan in the first reply
    assert reply.outcome.step == next_question(ApplicantProfile(), kb, "limits").field
    assert reply.say("card_limits").context["plan"] == limit_plan(ApplicantProfile(), kb)


async def test_at_most_two_questions_then_the_cores_plan(chat, kb):
    reply, asked = await finish(chat, await chat.text("怎么提额"))
    assert 1 <= asked <= QUICK_QUESTIONS
    assert "card_limits" in reply.names
    assert reply.outcome.flow is None
    core = limit_plan(profile_of(reply.slots), kb)
    assert reply.say("card_limits").context["plan"] == core
    inputs, summary = reply.outcome.assessment
    assert summary == {"flow": "limits", "final": True, "actions": [a.code for a in core.actions]}
    assert inputs == profile_of(reply.slots).to_mapping()


async def test_a_current_overdue_concludes_the_tips_at_once(chat, kb):
    started = await chat.text("3")
    assert started.outcome.flow == Flow.LIMITS and started.outcome.step == "materials"
    reply = await chat.text("现在有逾期没还", started.state)
    assert reply.names == ["ack", "card_limits"]
    assert reply.slots["overdue"] == "current"
    assert reply.say("card_limits").context["plan"] == limit_plan(profile_of(reply.slots), kb)


async def test_volunteered_balances_shape_the_plan(chat, kb):
    started = await chat.text("额度太低了想体额，零钱通有5000，已经按时还了3期")
    assert started.outcome.flow == Flow.LIMITS
    assert started.slots["lingqiantong_balance"] == 5000
    assert started.slots["ontime_periods"] == 3
    reply, _ = await finish(chat, started)
    plan = reply.say("card_limits").context["plan"]
    grow = next(a for a in plan.actions if a.code == "grow_lingqiantong")
    threshold = kb.rules.lingqiantong_threshold_yuan.value
    assert grow.params["threshold_yuan"] == threshold
    assert grow.params["shortfall_yuan"] == threshold - 5000
    ontime = next(a for a in plan.actions if a.code == "keep_ontime")
    assert ontime.params["remaining_periods"] == kb.rules.ontime_periods.value - 3


async def test_a_material_held_is_no_longer_advised(chat, kb):
    reply = await chat.last("怎么提额", "有社保，没有房")
    assert reply.names == ["ack", "card_limits", "ask"]
    assert reply.slots["materials"] == ["social_security"]
    assert reply.slots["materials_lacking"] == ["property"]
    plan = reply.say("card_limits").context["plan"]
    advised = [a.params.get("material") for a in plan.actions if a.code == "add_material"]
    assert advised and "social_security" not in advised and "property" not in advised
    assert any(a.code == "material_held" for a in plan.achieved)
    assert plan == limit_plan(profile_of(reply.slots), kb)


# -- the card's content, for every plan the core can produce (rendered, not the flow)

#: Each material's state: unknown, held, or said to be lacking (没有房 → lacking).
_STATES = ("unknown", "held", "lacking")
#: The core's ranking key per material (probability × increase): never on the card.
_PRODUCTS = ("72.98", "38.86", "31.95")
MAX_LINE_CHARS = 50


def profile_with(
    held: frozenset[Material] | None = None,
    lacking: frozenset[Material] | None = None,
    **values: object,
) -> ApplicantProfile:
    """A profile built directly, materials held and lacking apart (as memory will set them)."""
    return ApplicantProfile().with_values(
        {"materials": held, "materials_lacking": lacking, **values}
    )


def _every_profile() -> Iterator[ApplicantProfile]:
    for states in itertools.product(_STATES, repeat=len(Material)):
        held = frozenset(m for m, s in zip(Material, states) if s == "held")
        lacking = frozenset(m for m, s in zip(Material, states) if s == "lacking")
        for identity, overdue, ontime, balance in itertools.product(
            (None, Identity.EMPLOYEE, Identity.BUSINESS_OWNER, Identity.STUDENT),
            (None, Overdue.NONE, Overdue.CURRENT),
            (None, 0, 5, 6, 1200),
            (None, 0, 9999, 10000, 10001, 10**12),
        ):
            yield profile_with(
                held or None,
                lacking or None,
                identity=identity,
                overdue=overdue,
                ontime_periods=ontime,
                lingqiantong_balance=balance,
            )


def _render(dialogue, kb, profile: ApplicantProfile) -> str:
    context = {"plan": limit_plan(profile, kb), "profile": profile, "kb": kb}
    return dialogue.renderer.render_one("card_limits", context)


def test_every_plan_renders_a_short_card_with_the_articles_figures(dialogue, kb):
    """Every combination of held / lacking / unknown materials, identity, overdue, streak
    and balance: one passive reply (< 2048 bytes), short lines, figures as the article
    gives them and labelled reference data, nothing derived, nothing the user lacks."""
    seen: set[str] = set()
    largest = 0
    for profile in _every_profile():
        plan = limit_plan(profile, kb)
        if repr(plan) in seen:
            continue
        seen.add(repr(plan))
        text = _render(dialogue, kb, profile)
        size = len(text.encode("utf-8"))
        largest = max(largest, size)
        assert size < 2048, text
        assert "文章参考数据" in text and "不是提额承诺" in text
        assert all(len(line) <= MAX_LINE_CHARS for line in text.splitlines()), text
        for leak in ("None", "{{", "{%", *_PRODUCTS, "×"):
            assert leak not in text, (leak, text)
        numbered = [line for line in text.splitlines() if line.split(". ")[0].isdigit()]
        assert [line.split(". ")[0] for line in numbered] == [
            str(i) for i in range(1, len(plan.actions) + 1)
        ]
        if profile.overdue is Overdue.CURRENT:
            assert len(numbered) == 1 and "先还清逾期欠款" in numbered[0]
            continue
        for info in kb.materials:
            upload = f"上传{info.name}"
            if info.material in (profile.materials or ()):
                assert upload not in text and f"已有{info.name}" in text
            elif info.material in (profile.materials_lacking or ()):
                assert upload not in text and f"已有{info.name}" not in text
                assert info.name in text.split("不列入：")[1].splitlines()[0]
            elif upload in text:
                line = next(line for line in text.splitlines() if upload in line)
                assert f"提额概率{info.probability_pct}%" in line
                assert f"平均增幅{info.avg_increase_pct}%" in line
                assert f"{info.effective_working_days}个工作日" in line
        rules = kb.rules
        assert f"年均增长{rules.annual_growth_pct.value}%" in text
        grade_a = next(g for g in kb.grades if g.grade == "A")
        assert f"A级可享临时额度上浮{grade_a.limit_change_pct}%" in text
        assert f"连续{rules.inactivity_days.value}天未登录" in text
        assert "信用任务" in text
    assert len(seen) > 500  # the grid really produced many different plans
    assert largest < 2048


def test_no_house_card(dialogue, kb):
    """"没有房": the card leaves 房产证明 out and says why; the rest stays ranked."""
    text = _render(dialogue, kb, profile_with(lacking=frozenset({Material.PROPERTY})))
    assert "上传房产证明" not in text and "已有房产证明" not in text
    assert "你说没有，不列入：房产证明" in text
    assert text.index("1. 上传企业认证") < text.index("2. 上传社保/公积金")
    assert "提额概率67%，平均增幅58%，2个工作日生效" in text


def test_current_overdue_card_is_one_step(dialogue, kb):
    text = _render(dialogue, kb, profile_with(overdue=Overdue.CURRENT))
    credit = next(f for f in kb.factors if f.key == "credit_report")
    assert "1. 先还清逾期欠款" in text and "2." not in text
    assert f"权重{credit.weight_pct}%" in text
    assert "上传" not in text and "零钱通" not in text
