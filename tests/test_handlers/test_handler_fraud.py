"""Scam warnings and what to do after a scam: checked before every other feature, whatever the
state; the flow goes on."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
from wxloan.handlers import Say, State
from wxloan.handlers.nlu import SCAM_PATTERN_IDS
from wxloan.handlers.rendering import TEMPLATE_DIR, Renderer
from wxloan.handlers.states import Flow
from wxloan.knowledge import load_knowledge
from wxloan.knowledge.errors import DataError
from wxloan.knowledge.loader import DATA_DIR
from wxloan.knowledge.records import AntiFraud


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("放款前要先交保证金", "upfront_fee"),
        ("对方说我的账户被冻结了，要交解冻费才能放款", "upfront_fee"),
        ("审核通过了但要交手续费才能提现", "upfront_fee"),
        ("有人说有内部渠道可以代开通", "internal_channel"),
        ("可以帮我刷流水提额吗", "fake_flow"),
        ("他让我把验证码发给他", "verification_code"),
        ("让我把钱转到安全账户", "safe_account"),
        ("他说他是微粒贷的工作人员，要加我好友", "impersonation"),
        ("有个自称微众银行客服经理的人打电话来，说我额度被冻结", "impersonation"),
        ("短信说我的微粒贷额度已提升至6万，点链接激活", "phishing_link"),
        ("中介说下载他们的app就能借到三万", "unknown_app"),
        ("有个征信修复公司说交两千能把逾期删掉", "credit_repair"),
        ("来电说我上学时的校园贷没注销，不然要上征信黑名单", "campus_loan_cancel"),
        ("快递客服说要给我理赔，让我先在微粒贷借出来转给他", "refund"),
        ("对方要我先转一万进卡里验资，证明有还款能力", "fake_flow"),
    ],
)
async def test_a_scam_pattern_is_named(chat, text, pattern):
    reply = await chat.text(text)
    assert reply.names == ["scam_warning"]
    assert pattern in reply.say("scam_warning").context["patterns"]
    assert reply.outcome.flow is None and not reply.outcome.transfer


async def test_a_scam_question_without_a_pattern_warns_in_general(chat):
    reply = await chat.text("这是骗子吗")
    assert reply.names == ["scam_warning"]
    assert reply.say("scam_warning").context["patterns"] == ()


async def test_ordinary_text_is_no_scam(chat):
    reply = await chat.text("你好")
    assert "scam_warning" not in reply.names


async def test_mid_questionnaire_the_warning_leads_back_to_the_same_question(chat):
    started = await chat.text("1")
    step = started.outcome.step
    reply = await chat.text("交500元保证金就能放款", started.state)
    assert reply.names == ["scam_warning", "back_to_question", "ask"]
    assert reply.say("ask").context["field"] == step
    assert (reply.outcome.flow, reply.outcome.step) == (Flow.ELIGIBILITY, step)
    assert reply.slots == started.slots  # nothing learnt, nothing forgotten


async def test_mid_rejection_flow_the_warning_keeps_the_flow(chat):
    started = await chat.text("我被拒了")
    assert started.outcome.flow == Flow.REJECTION
    reply = await chat.text("对方要我的验证码", started.state)
    assert reply.names[0] == "scam_warning"
    assert reply.outcome.flow == Flow.REJECTION
    assert reply.outcome.step == started.outcome.step


async def test_a_scam_beats_a_pending_answer_and_a_command(chat):
    """Even a message that would answer the question (or restart) gets the warning first."""
    state = State(flow=Flow.ELIGIBILITY, step="pay_score", slots={"_asked": ["pay_score"]})
    reply = await chat.text("支付分700，对方说交保证金就能放款", state)
    assert reply.names[0] == "scam_warning"
    assert "pay_score" not in reply.slots


@pytest.mark.parametrize(
    "state",
    [State(), State(flow=Flow.LIMITS, step="materials"), State(flow=Flow.CALCULATOR, step="calc")],
    ids=["idle", "limits", "calculator"],
)
async def test_the_fraud_handler_on_a_hand_built_turn(chat, state):
    from wxloan.handlers import Kind, build_router, fraud

    text_routes = [r for r in build_router().routes
                   if Kind.TEXT in r.kinds and r.handler.__module__ != "wxloan.handlers.handoff"]
    # only the hand-off comes before; the aftermath before the plain warning
    assert [r.handler for r in text_routes[:2]] == [fraud.scam_aftermath, fraud.scam_warning]
    outcome = await fraud.scam_warning(chat.turn("让我把钱转到安全账户", state))
    assert outcome.says[0].template == "scam_warning"
    assert outcome.says[0].context["patterns"] == ("safe_account",)
    assert (outcome.flow, outcome.step) == (state.flow, state.step)


# --- one short line per pattern -----------------------------------------------------------


@pytest.fixture(scope="module")
def renderer(dialogue) -> Renderer:
    return dialogue.renderer


def _warning(renderer, kb, patterns):
    return renderer.render_one("scam_warning", {"patterns": tuple(patterns), "kb": kb})


@pytest.mark.parametrize("pattern", SCAM_PATTERN_IDS)
def test_every_pattern_has_its_own_short_line(renderer, kb, pattern):
    general = _warning(renderer, kb, ())
    text = _warning(renderer, kb, [pattern])
    assert text != general  # a line of its own, not the general one
    lines = [line for line in text.splitlines() if line.startswith("· ")]
    assert len(lines) == 1 and len(lines[0]) <= 40, lines


async def test_every_pattern_together_stays_well_under_the_limit_mid_questionnaire(chat, renderer, kb):
    """The worst case: all eleven lines at once, then the pending question again."""
    from wxloan.handlers import fraud

    started = await chat.text("1")
    outcome = await fraud.scam_warning(chat.turn("交保证金才能放款", started.state))
    says = (Say("scam_warning", {"patterns": SCAM_PATTERN_IDS, "kb": kb}), *outcome.says[1:])
    assert [s.template for s in says] == ["scam_warning", "back_to_question", "ask"]
    warning = _warning(renderer, kb, SCAM_PATTERN_IDS)
    lines = [line for line in warning.splitlines() if line.startswith("· ")]
    assert len(lines) == len(SCAM_PATTERN_IDS) == len(set(lines))
    size = len(renderer.render(says).encode("utf-8"))
    assert size <= 1700, size  # measured 1,498 bytes: room for a longer question


async def test_a_message_with_many_patterns_mid_questionnaire_fits_one_bubble(chat):
    started = await chat.text("1")
    text = ("自称微粒贷工作人员来电，说我的校园贷要注销不然影响征信，让我下载他们的app、刷流水验资，"
            "把验证码发给他，钱转到安全账户，交解冻费才能放款，还发了个链接说额度已提升")
    reply = await chat.text(text, started.state)
    assert reply.names[0] == "scam_warning" and reply.names[-1] == "ask"
    patterns = reply.say("scam_warning").context["patterns"]
    assert len(patterns) >= 7, patterns
    assert len(reply.text.encode("utf-8")) <= 2048


# --- after the money or the code is gone --------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "我已经把钱转给他了，怎么办",
        "钱已经打过去了，他现在不回我",
        "验证码已经给他了",
        "我被骗了怎么办",
        "已经交了解冻费，还是没放款",
        "刚才开了屏幕共享，他看到了我的银行卡",
    ],
)
async def test_after_paying_or_sharing_the_first_step_is_the_police(chat, kb, text):
    reply = await chat.text(text)
    assert reply.names == ["scam_aftermath"]
    assert reply.outcome.flow is None and not reply.outcome.transfer
    numbers = kb.rules.anti_fraud
    first = next(line for line in reply.text.splitlines() if line.startswith("1."))
    assert numbers.police in first and numbers.hotline in first
    steps = [line for line in reply.text.splitlines() if line[:1].isdigit()]
    assert [s.split(".")[0] for s in steps] == ["1", "2", "3", "4", "5"]
    assert len(reply.text.encode("utf-8")) <= 1024


async def test_the_aftermath_wins_over_the_warning_when_both_match(chat):
    reply = await chat.text("我把验证码念给他了")
    assert reply.names == ["scam_aftermath"]  # the pattern was seen too, and is not repeated
    assert "verification_code" in chat.turn("我把验证码念给他了").understanding.scam_patterns


async def test_after_a_warning_the_aftermath_is_understood(chat):
    warned, after = await chat.talk("对方说先交800解冻费才能放款", "我已经交了解冻费怎么办")
    assert warned.names == ["scam_warning"]
    assert after.names == ["scam_aftermath"]


async def test_mid_questionnaire_the_aftermath_leads_back_to_the_same_question(chat):
    started = await chat.text("1")
    step = started.outcome.step
    reply = await chat.text("完了，钱已经转过去了", started.state)
    assert reply.names == ["scam_aftermath", "back_to_question", "ask"]
    assert (reply.outcome.flow, reply.outcome.step) == (Flow.ELIGIBILITY, step)
    assert reply.slots == started.slots
    assert len(reply.text.encode("utf-8")) <= 2048


async def test_a_transfer_into_zero_cash_is_no_aftermath(chat):
    """已经转了 is an aftermath phrase, but money moved into one's own 零钱通 is a deposit."""
    reply = await chat.text("我已经转了2万到零钱通")
    assert "scam_aftermath" not in reply.names and "scam_warning" not in reply.names
    assert chat.turn("我已经转了2万到零钱通").understanding.intents[0] == "scam_aftermath"
    warned = await chat.text("我已经转了2万到零钱通，客服又说要交解冻费才能提额")
    assert warned.names[0] == "scam_warning"


async def test_ordinary_past_tense_is_no_aftermath(chat):
    for text in ("我已经还款了", "已经交了五年社保", "钱已经到账了"):
        reply = await chat.text(text)
        assert "scam_aftermath" not in reply.names and "scam_warning" not in reply.names, text


# --- the phone numbers are knowledge data, not template text ---------------------------------


def test_the_numbers_are_read_from_policy_toml(kb):
    assert kb.rules.anti_fraud == AntiFraud(police="110", hotline="96110")


@pytest.mark.parametrize("name", ["scam_warning", "scam_aftermath"])
def test_the_templates_print_the_numbers_they_are_given(renderer, kb, name):
    other = dataclasses.replace(
        kb, rules=dataclasses.replace(kb.rules, anti_fraud=AntiFraud(police="999", hotline="12345"))
    )
    text = renderer.render_one(name, {"patterns": (), "kb": other})
    assert "999" in text and "12345" in text
    assert "110" not in text and "96110" not in text
    source = (TEMPLATE_DIR / f"{name}.txt.j2").read_text(encoding="utf-8")
    assert "110" not in source.split("-#}", 1)[1]  # outside the header comment


def _data_with(tmp_path: Path, old: str, new: str) -> Path:
    shutil.copytree(DATA_DIR, tmp_path / "data")
    policy = tmp_path / "data" / "policy.toml"
    text = policy.read_text(encoding="utf-8")
    assert old in text
    policy.write_text(text.replace(old, new), encoding="utf-8")
    return tmp_path / "data"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('hotline = "96110"', 'hotline = "9611O"',
         "policy.toml: anti_fraud.hotline: expected a phone number of 3 to 8 digits, got '9611O'"),
        ('police = "110"', "police = 110", "policy.toml: anti_fraud.police: expected string"),
        ('police = "110"\n', "", "policy.toml: anti_fraud.police"),
        ("[anti_fraud]", "[anti_fraud]\nextra = 1", "policy.toml: anti_fraud.extra: unexpected field"),
    ],
    ids=["letter", "not-a-string", "missing", "unexpected"],
)
def test_bad_numbers_stop_the_start(tmp_path, old, new, message):
    with pytest.raises(DataError) as caught:
        load_knowledge(_data_with(tmp_path, old, new))
    assert str(caught.value).startswith(message), str(caught.value)
