"""The eligibility questionnaire: the core picks each question, a decisive fact concludes."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from wxloan.handlers import State
from wxloan.handlers.flows import MAX_TRIES, QUESTION_BUDGET, VERIFICATION, VERIFICATION_FIELDS
from wxloan.handlers.states import Flow
from wxloan.knowledge import ApplicantProfile, KnowledgeBase, assess, next_question

#: A plausible answer to every question the eligibility flow may ask.
ANSWERS = {
    "overdue": "没有",
    "pay_score": "720",
    VERIFICATION: "是",
    "real_name_verified": "是",
    "face_verified": "是",
    "account_normal": "是",
    "purpose": "日常消费",
    "identity": "上班族",
    "inquiries_3m": "两次",
    "rejected_before": "没有",
    "materials": "没有",
    "payments_per_week": "每周四五次",
    "pay_history_months": "用了两年",
}


def profile_of(slots) -> ApplicantProfile:
    return ApplicantProfile.from_mapping(dict(slots))


def expected_step(
    kb: KnowledgeBase, profile: ApplicantProfile, skipped: Iterable[str] = ()
) -> str | None:
    """What the flow should ask next: the core's choice, the identity checks grouped."""
    skipped = frozenset(skipped)
    question = next_question(profile, kb, "eligibility", skipped)
    if question is None:
        return None
    grouped = all(getattr(profile, name) is None for name in VERIFICATION_FIELDS)
    if question.field in VERIFICATION_FIELDS and grouped and VERIFICATION not in skipped:
        return VERIFICATION
    return question.field


def asking(field: str, **known) -> State:
    """Mid-questionnaire, waiting for an answer to ``field``."""
    return State(flow=Flow.ELIGIBILITY, step=field, slots={**known, "_asked": [field]})


async def test_the_first_question_is_the_cores_first_choice(chat, kb):
    reply = await chat.text("我想开通微粒贷")
    assert reply.names == ["flow_intro_eligibility", "ask"]
    assert reply.outcome.flow == Flow.ELIGIBILITY
    ask = reply.say("ask").context
    assert reply.outcome.step == ask["field"] == expected_step(kb, ApplicantProfile())
    assert (ask["position"], ask["attempt"], ask["invalid_value"]) == (1, 0, None)


async def test_an_answer_is_taken_and_moves_to_the_next_question(chat, kb):
    first = await chat.text("1")
    reply = await chat.text(ANSWERS[first.outcome.step], first.state)
    assert reply.names == ["ask"]
    profile = profile_of(reply.slots)
    assert getattr(profile, first.outcome.step) is not None  # the answer was stored
    assert reply.outcome.step != first.outcome.step
    assert reply.outcome.step == expected_step(kb, profile)
    assert reply.say("ask").context["position"] == 2
    assert reply.slots["_asked"] == [first.outcome.step, reply.outcome.step]


async def test_facts_volunteered_from_idle_start_the_questionnaire_past_them(chat, kb):
    reply = await chat.text("支付分七百二，没有逾期")
    assert reply.outcome.flow == Flow.ELIGIBILITY
    assert reply.slots["pay_score"] == 720 and reply.slots["overdue"] == "none"
    assert reply.outcome.step not in ("pay_score", "overdue")
    assert reply.outcome.step == expected_step(kb, profile_of(reply.slots))


@pytest.mark.parametrize(
    ("known", "step", "answer", "decided"),
    [
        ({}, "overdue", "现在有逾期", {"overdue": "current"}),
        ({"overdue": "none", "pay_score": 720}, "real_name_verified", "否",
         {"real_name_verified": False}),
        ({"overdue": "none", "pay_score": 720, "real_name_verified": True, "face_verified": True,
          "account_normal": True}, "purpose", "买房", {"purpose": "house"}),
    ],
    ids=["current-overdue", "not-verified", "banned-purpose"],
)
async def test_a_decisive_fact_concludes_at_once(chat, kb, known, step, answer, decided):
    reply = await chat.text(answer, asking(step, **known))
    assert reply.names == ["card_assessment"]
    assert (reply.outcome.flow, reply.outcome.step) == (None, None)
    profile = profile_of(reply.slots)
    assert profile.to_mapping().items() >= decided.items()
    inputs, summary = reply.outcome.assessment
    assert inputs == profile.to_mapping()
    core = assess(profile, kb, chat.today)
    assert summary["flow"] == "eligibility"
    assert summary["verdicts"] == {v.product: v.status.value for v in core.verdicts}
    assert reply.say("card_assessment").context["a"] == core


async def test_the_whole_questionnaire_ends_with_the_cores_assessment(chat, kb):
    reply = await chat.text("1")
    turns = 0
    while reply.outcome.step is not None:
        turns += 1
        assert turns <= QUESTION_BUDGET[Flow.ELIGIBILITY], reply.slots
        reply = await chat.text(ANSWERS[reply.outcome.step], reply.state)
    assert reply.names == ["card_assessment"]
    profile = profile_of(reply.slots)
    assert profile.pay_score == 720
    assert reply.say("card_assessment").context["a"] == assess(profile, kb, chat.today)
    assert reply.slots["_last"]["topic"] == "assessment"
    assert reply.slots["_last"]["sources"] == list(assess(profile, kb, chat.today).sources)
    assert "_asked" not in reply.slots  # the bookkeeping ends with the flow


async def test_yes_to_the_grouped_identity_question_confirms_all_three(chat):
    reply = await chat.text("是", asking(VERIFICATION, overdue="none", pay_score=720))
    assert all(reply.slots[name] is True for name in VERIFICATION_FIELDS)
    assert reply.outcome.step not in (VERIFICATION, *VERIFICATION_FIELDS)


async def test_no_to_the_grouped_identity_question_asks_them_one_by_one(chat):
    reply = await chat.text("否", asking(VERIFICATION, overdue="none", pay_score=720))
    assert reply.names == ["ask"]
    assert reply.outcome.step in VERIFICATION_FIELDS
    assert VERIFICATION in reply.slots["_skipped"]
    assert not any(name in reply.slots for name in VERIFICATION_FIELDS)


@pytest.mark.parametrize(
    ("word", "value"),
    [("是", True), ("有", True), ("否", False), ("没有", False), ("无", False)],
)
async def test_a_bare_yes_or_no_answers_a_yes_no_question(chat, word, value):
    """The one-character yes/no words live in knowledge/data/lexicon.toml ([answers])."""
    reply = await chat.text(word, asking("face_verified", overdue="none"))
    assert reply.slots["face_verified"] is value


async def test_an_impossible_pay_score_is_asked_again_with_a_hint(chat):
    reply = await chat.text("900", asking("pay_score", overdue="none"))
    assert reply.names == ["ask"]
    assert reply.outcome.step == "pay_score"
    ask = reply.say("ask").context
    assert (ask["field"], ask["attempt"], ask["invalid_value"]) == ("pay_score", 1, 900)
    assert "pay_score" not in reply.slots
    assert reply.slots["_tries"] == {"pay_score": 1}


async def test_after_three_unusable_answers_the_question_is_skipped(chat, kb):
    state = asking("pay_score", overdue="none")
    for attempt in range(1, MAX_TRIES):
        reply = await chat.text("900", state)
        assert reply.say("ask").context["attempt"] == attempt
        state = reply.state
    reply = await chat.text("900", state)
    assert reply.names[0] == "ask_skipped"
    assert reply.say("ask_skipped").context == {"field": "pay_score"}
    assert "pay_score" in reply.slots["_skipped"]
    assert reply.outcome.step == expected_step(kb, profile_of(reply.slots), ["pay_score"])


async def test_i_dont_know_skips_the_question(chat, kb):
    reply = await chat.text("不知道", asking("overdue"))
    assert reply.slots["_skipped"] == ["overdue"]
    assert "overdue" not in reply.slots
    assert reply.outcome.step == expected_step(kb, ApplicantProfile(), ["overdue"])


async def test_gibberish_re_asks_the_same_question(chat):
    reply = await chat.text("啊啊啊啊", asking("overdue"))
    assert reply.names == ["ask"]
    assert reply.outcome.step == "overdue"
    assert reply.say("ask").context["attempt"] == 1


async def test_an_answer_with_an_extra_fact_takes_both(chat):
    reply = await chat.text("没有逾期，支付分680", asking("overdue"))
    assert reply.slots["overdue"] == "none" and reply.slots["pay_score"] == 680
    assert reply.outcome.step not in ("overdue", "pay_score")


async def test_changing_the_subject_to_another_flow_switches_flow(chat):
    reply = await chat.text("怎么提额", asking("pay_score", overdue="none"))
    assert reply.outcome.flow == Flow.LIMITS
    assert reply.names[0] == "flow_intro_limits"
    assert reply.slots["overdue"] == "none"  # facts survive the switch


async def test_asking_for_the_flow_you_are_in_just_repeats_the_question(chat):
    state = asking("pay_score", overdue="none")
    reply = await chat.text("我想开通", state)
    assert reply.names == ["back_to_question", "ask"]
    assert (reply.outcome.flow, reply.outcome.step) == (Flow.ELIGIBILITY, "pay_score")
    assert reply.slots == dict(state.slots)
