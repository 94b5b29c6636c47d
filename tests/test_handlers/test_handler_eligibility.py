"""Eligibility, answer first: the verdict the known facts allow, then at most one question."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from wxloan.handlers import State
from wxloan.handlers.flows import (
    DETAILED_BUDGET,
    MAX_TRIES,
    QUICK_QUESTIONS,
    VERIFICATION,
    VERIFICATION_FIELDS,
)
from wxloan.handlers.states import Flow
from wxloan.knowledge import ApplicantProfile, KnowledgeBase, Lean, assess, next_question

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
#: Replies that carry a verdict (the card concludes; the short verdict precedes a question).
VERDICTS = {"verdict_eligibility", "card_assessment"}


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
    """Mid-questionnaire, waiting for an answer to ``field`` (the first question)."""
    return State(flow=Flow.ELIGIBILITY, step=field, slots={**known, "_asked": [field]})


# --- the first reply answers -------------------------------------------------------


async def test_the_decisive_fact_in_the_question_gets_its_verdict_at_once(chat, kb):
    reply = await chat.text("支付分只有590，微粒贷有戏吗")
    assert reply.names == ["ack", "verdict_eligibility", "ask"]
    context = reply.say("verdict_eligibility").context
    leans = {v.product: v.lean for v in context["a"].verdicts}
    assert leans == {"weilidai": Lean.NO, "we2000": Lean.LIKELY, "partner_bank": Lean.NO}
    assert [v.product for v in context["verdicts"]][0] == "weilidai"  # the product asked first
    assert "590＜620" in reply.text and "590≥580" in reply.text
    assert reply.outcome.step == expected_step(kb, profile_of(reply.slots))
    inputs, summary = reply.outcome.assessment
    assert inputs == {"pay_score": 590} and summary["final"] is False
    assert summary["leans"] == {k: v.value for k, v in leans.items()}


async def test_with_nothing_known_it_says_what_the_answer_depends_on(chat, kb):
    reply = await chat.text("我想开通微粒贷")
    assert reply.names == ["brief_eligibility", "ask"]
    assert reply.outcome.step == "pay_score" == expected_step(kb, ApplicantProfile())
    assert f"≥{kb.product('weilidai').min_pay_score}分" in reply.text
    assert reply.outcome.assessment is None  # nothing decided, nothing to record


async def test_facts_volunteered_from_idle_are_acknowledged_and_assessed(chat, kb):
    reply = await chat.text("支付分七百二，没有逾期")
    assert reply.names == ["ack", "verdict_eligibility", "ask"]
    assert reply.say("ack").context["fields"] == ["overdue", "pay_score"]
    assert reply.slots["pay_score"] == 720 and reply.slots["overdue"] == "none"
    assert reply.outcome.step == expected_step(kb, profile_of(reply.slots))


FIRST_MESSAGES = [
    "1",
    "我想开通微粒贷",
    "能开通We2000吗",
    "支付分六百五能借钱吗",
    "我是上班族，能开通吗",
    "帮我测测",
    "评估一下",
    "开始评估",
    "支付分590",
    "没有逾期，支付分七百",
    "微粒贷怎么开通",
    "个体户，支付分680，想开通",
]


@pytest.mark.parametrize("first", FIRST_MESSAGES)
async def test_a_verdict_after_at_most_two_questions_and_the_card_after_two(chat, first):
    """Issue 12: a first useful verdict after at most 2 bot questions; the card after 2."""
    reply = await chat.text(first)
    questions = 0
    verdict_after: int | None = 0 if VERDICTS & set(reply.names) else None
    while reply.outcome.step is not None:
        questions += 1
        assert questions <= QUICK_QUESTIONS, reply.names
        reply = await chat.text(ANSWERS[reply.outcome.step], reply.state)
        if verdict_after is None and VERDICTS & set(reply.names):
            verdict_after = questions
    assert verdict_after is not None and verdict_after <= 2
    assert "card_assessment" in reply.names and reply.outcome.flow is None
    profile = profile_of(reply.slots)
    assert reply.say("card_assessment").context["a"] == assess(profile, kb_of(chat), chat.today)
    inputs, summary = reply.outcome.assessment
    assert inputs == profile.to_mapping() and summary["final"] is True
    assert "_asked" not in reply.slots  # the bookkeeping ends with the flow


def kb_of(chat) -> KnowledgeBase:
    return chat.services.kb


async def test_an_unchanged_verdict_is_not_repeated_after_an_answer(chat):
    first = await chat.text("支付分只有590，微粒贷有戏吗")
    assert first.outcome.step == "overdue"
    reply = await chat.text("没有", first.state)
    assert reply.names == ["ack", "ask"]  # 590 still decides the same; just the next question


async def test_a_changed_verdict_is_shown_again(chat):
    first = await chat.text("支付分680")
    reply = await chat.text("学生", State(flow=Flow.ELIGIBILITY, step="identity",
                                          slots={**first.slots, "_asked": ["identity"]}))
    assert "verdict_eligibility" in reply.names or "card_assessment" in reply.names
    context = (reply.say("verdict_eligibility") if "verdict_eligibility" in reply.names
               else reply.say("card_assessment")).context
    assert context["a"].verdict("weilidai").lean is Lean.NO  # the student cap, now known


# --- decisive facts, details, impatience -------------------------------------------


@pytest.mark.parametrize(
    ("known", "step", "answer", "decided"),
    [
        ({}, "overdue", "现在有逾期", {"overdue": "current"}),
        ({}, "overdue", "3", {"overdue": "current"}),
        ({"overdue": "none", "pay_score": 720}, "real_name_verified", "否",
         {"real_name_verified": False}),
        ({"overdue": "none", "pay_score": 720, "real_name_verified": True, "face_verified": True,
          "account_normal": True}, "purpose", "买房", {"purpose": "house"}),
    ],
    ids=["current-overdue", "numbered-option", "not-verified", "banned-purpose"],
)
async def test_a_decisive_fact_concludes_at_once(chat, kb, known, step, answer, decided):
    reply = await chat.text(answer, asking(step, **known))
    assert reply.names == ["ack", "card_assessment"]  # nothing left to ask: no refine hint
    assert (reply.outcome.flow, reply.outcome.step) == (None, None)
    profile = profile_of(reply.slots)
    assert profile.to_mapping().items() >= decided.items()
    core = assess(profile, kb, chat.today)
    assert core.decided
    assert reply.say("card_assessment").context["a"] == core


async def test_detailed_keeps_asking_only_what_still_matters(chat, kb):
    replies = await chat.talk("支付分720", "没有", "上班族")
    card = replies[-1]
    assert card.names[-2:] == ["card_assessment", "refine_hint"]
    reply = await chat.text("详细评估", card.state)
    assert reply.names == ["ask"]  # the card just showed the verdict: straight to the question
    assert reply.outcome.step == expected_step(kb, profile_of(reply.slots))
    asked = 1
    while reply.outcome.step is not None:
        reply = await chat.text(ANSWERS[reply.outcome.step], reply.state)
        asked += reply.names.count("ask")
        assert asked <= DETAILED_BUDGET[Flow.ELIGIBILITY]
    assert reply.names[-1] == "card_assessment"  # nothing can change it now: no hint
    assert next_question(profile_of(reply.slots), kb, "eligibility") is None


async def test_impatience_gets_the_card_now_with_what_is_known(chat):
    first = await chat.text("支付分680")
    reply = await chat.text("别问了，直接说结果", first.state)
    assert reply.names == ["card_assessment", "refine_hint"]
    assert reply.outcome.flow is None
    a = reply.say("card_assessment").context["a"]
    assert a.verdict("weilidai").lean is Lean.LIKELY and "overdue" in a.pending


async def test_impatience_with_nothing_known_asks_the_one_deciding_question(chat):
    reply = await chat.text("直接说结果")
    assert reply.names == ["brief_eligibility", "ask"]
    assert reply.outcome.step == "pay_score"


# --- corrections and someone else --------------------------------------------------


async def test_a_correction_replaces_the_last_fact_not_the_pending_question(chat):
    first = await chat.text("支付分六百八")
    assert first.outcome.step == "overdue"
    reply = await chat.text("刚才说错了，是710", first.state)
    assert reply.slots["pay_score"] == 710 and "overdue" not in reply.slots
    assert reply.say("ack").context["corrected"] is True
    assert reply.outcome.step == "overdue"  # the pending question is still pending
    card = await chat.text("直接说结果", reply.state)
    assert card.say("card_assessment").context["profile"].pay_score == 710


async def test_a_correction_after_the_card_gives_a_new_card(chat):
    card = (await chat.talk("支付分690", "没有", "上班族"))[-1]
    assert card.outcome.flow is None
    reply = await chat.text("打错了，应该是720", card.state)
    assert reply.names[:2] == ["ack", "card_assessment"]
    assert reply.say("card_assessment").context["a"].verdict("partner_bank").lean is Lean.LIKELY


async def test_someone_elses_facts_answer_about_them_and_are_stored_nowhere(chat):
    reply = await chat.text("我老婆是学生，她能办吗")
    assert reply.names == ["verdict_eligibility"]
    context = reply.say("verdict_eligibility").context
    assert context["about_other"] is True
    assert context["a"].verdict("weilidai").lean is Lean.NO  # the student cap
    assert "identity" not in reply.slots and reply.outcome.flow is None


async def test_someone_else_mid_questionnaire_leads_back(chat):
    state = asking("overdue", pay_score=700)
    reply = await chat.text("我同学支付分600能开微粒贷吗", state)
    assert reply.names[0] == "verdict_eligibility" and reply.names[-1] == "ask"
    assert reply.slots["pay_score"] == 700  # the user's own score is untouched
    assert (reply.outcome.flow, reply.outcome.step) == (Flow.ELIGIBILITY, "overdue")


# --- answering the question --------------------------------------------------------


async def test_yes_to_the_grouped_identity_question_confirms_all_three(chat):
    reply = await chat.text("是", asking(VERIFICATION, overdue="none", pay_score=720))
    assert all(reply.slots[name] is True for name in VERIFICATION_FIELDS)
    assert reply.outcome.step not in (VERIFICATION, *VERIFICATION_FIELDS)


async def test_no_to_the_grouped_identity_question_asks_them_one_by_one(chat):
    reply = await chat.text("否", asking(VERIFICATION, overdue="none", pay_score=720,
                                          identity="employee"))
    assert reply.names[-1] == "ask"
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


@pytest.mark.parametrize(("number", "value"), [("1", "none"), ("2", "past"), ("3", "current")])
async def test_a_numbered_option_answers_the_question(chat, number, value):
    reply = await chat.text(number, asking("overdue", pay_score=700))
    assert reply.slots["overdue"] == value


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
    assert reply.say("ask").context["understood"] is False


async def test_a_fact_already_known_is_never_answered_with_not_understood(chat):
    reply = await chat.text("支付分700", asking("overdue", pay_score=700))
    assert reply.outcome.step == "overdue"
    assert reply.say("ask").context["understood"] is True
    assert "没看懂" not in reply.text


async def test_an_answer_with_an_extra_fact_takes_both(chat):
    reply = await chat.text("没有逾期，支付分680", asking("overdue"))
    assert reply.slots["overdue"] == "none" and reply.slots["pay_score"] == 680
    assert reply.outcome.step not in ("overdue", "pay_score")
    assert reply.say("ack").context["fields"] == ["overdue", "pay_score"]


async def test_a_vague_frequency_reads_as_at_least_three_a_week(chat):
    state = asking("payments_per_week", overdue="none", pay_score=700)
    reply = await chat.text("每周都用好几次", state)
    assert reply.slots["payments_per_week"] >= 3


async def test_changing_the_subject_to_another_flow_switches_flow(chat):
    reply = await chat.text("怎么提额", asking("pay_score", overdue="none"))
    assert reply.outcome.flow == Flow.LIMITS
    assert "card_limits" in reply.names  # the plan at once, then one question
    assert reply.slots["overdue"] == "none"  # facts survive the switch


async def test_asking_for_the_flow_you_are_in_answers_again_then_asks(chat):
    """"能贷多少" mid-questionnaire: the answer so far (here: what it depends on), then the question."""
    state = asking("pay_score", overdue="none", identity="business_owner")
    reply = await chat.text("能贷多少", state)
    assert reply.names == ["brief_eligibility", "ask"]
    assert "50万元" in reply.text  # the business owners' track, from the kb
    assert (reply.outcome.flow, reply.outcome.step) == (Flow.ELIGIBILITY, "pay_score")
    known = await chat.text("我想开通", asking("overdue", pay_score=700))
    assert known.names == ["verdict_eligibility", "ask"] and known.outcome.step == "overdue"
