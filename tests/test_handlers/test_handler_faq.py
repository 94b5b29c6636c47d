"""Direct answers from the knowledge base, follow-ups that keep their context, small talk.

Every answer is checked against the knowledge base it is rendered from: the template
and the entity it names, its sources for "为什么", the figures (the kb's, or the core's
conversion of them), one short bubble each, and what the session remembers.
"""

from __future__ import annotations

import dataclasses
import re
from decimal import Decimal

import pytest

from wxloan.handlers import State
from wxloan.handlers.faq import DAY_COUNTS, FAQ_TOPICS
from wxloan.handlers.nlu.lexicon import load_lexicon
from wxloan.handlers.states import Flow
from wxloan.knowledge import Identity, Material, apr_to_daily_rate, daily_rate_to_apr
from wxloan.knowledge.pricing import apr_range

#: One ordinary question per whole-topic card.
QUESTIONS = {
    "requirements": "开通需要什么条件",
    "limit_factors": "额度由什么决定",
    "rejection_reasons": "被拒的原因有哪些",
    "rates": "利息怎么算",
    "channels": "在哪里开通",
    "special_groups": "哪些特殊人群可以开通",
    "risk_control": "风控是什么",
    "after_opening": "开通以后要注意什么",
    "banned_purpose": "能借钱炒股吗",
}
MID_FLOW = State(
    flow=Flow.ELIGIBILITY,
    step="pay_score",
    slots={"overdue": "none", "_asked": ["overdue", "pay_score"]},
)
#: A direct answer is one short bubble (the passive limit is 2048 bytes).
SHORT_BYTES = 600
LEXICON = load_lexicon()
UNCOVERED = LEXICON.faq["uncovered"]
NEAREST = LEXICON.faq["nearest"]


def test_every_faq_topic_has_a_question_here():
    assert set(QUESTIONS) == set(FAQ_TOPICS)


@pytest.mark.parametrize("intent", sorted(FAQ_TOPICS))
async def test_a_topic_question_gets_its_answer_and_sources(chat, kb, intent):
    topic, sections = FAQ_TOPICS[intent]
    reply = await chat.text(QUESTIONS[intent])
    assert reply.names == [f"faq_{topic}"]
    assert reply.say(f"faq_{topic}").context["kb"] is kb
    assert reply.outcome.flow is None
    expected = [entry.id for number in sections for entry in kb.section_entries(number)]
    assert expected, f"sections {sections} hold no entries"
    assert reply.slots["_last"] == {"topic": "faq", "faq": topic, "sources": expected}


@pytest.mark.parametrize(
    "text", ["日利率怎么算", "在哪里开通", "风控是什么", "微粒贷利率多少", "提前还款怎么操作"]
)
async def test_a_question_mid_flow_leads_back_to_the_question(chat, text):
    reply = await chat.text(text, MID_FLOW)
    assert reply.names[0].startswith("faq_")
    assert reply.names[1:] == ["back_to_question", "ask"]
    assert reply.say("ask").context["field"] == "pay_score"
    assert (reply.outcome.flow, reply.outcome.step) == (Flow.ELIGIBILITY, "pay_score")
    assert reply.slots["_asked"] == ["overdue", "pay_score"]


# --- products -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "product", "focus"),
    [
        ("微粒贷利率多少", "weilidai", "rate"),
        ("微粒贷年化多少啊", "weilidai", "rate"),
        ("we2000最多借多少", "we2000", None),
        ("合作银行贷要多少分才行", "partner_bank", None),
        ("微粒贷", "weilidai", None),
    ],
)
async def test_a_product_question_gets_that_products_figures(chat, kb, text, product, focus):
    reply = await chat.text(text)
    assert reply.names == ["faq_product"]
    context = reply.say("faq_product").context
    assert (context["product"], context["focus"]) == (product, focus)
    p = kb.product(product)
    for figure in (f"{p.min_pay_score}分", f"{p.limit_min:,}", f"{p.limit_max:,}"):
        assert figure in reply.text
    assert reply.slots["_last"]["product"] == product
    assert reply.slots["_last"]["sources"][0] == p.id
    assert len(reply.text.encode()) < SHORT_BYTES


async def test_a_products_rates_by_tier_are_the_cores_ranges(chat, kb):
    reply = await chat.text("微粒贷利率多少")
    tiers = reply.say("faq_product").context["tiers"]
    product = kb.product("weilidai")
    assert [t["low"] for t in tiers] == [750, 650, 620]  # 580-619 does not reach 微粒贷
    for tier in tiers:
        assert tier["apr"] == apr_range(product, tier["low"], None, kb)[0]
    assert "620–649分：18%–18.25%" in reply.text


@pytest.mark.parametrize(("score", "fits"), [(680, True), (600, False)])
async def test_a_known_pay_score_gives_the_users_own_range(chat, kb, score, fits):
    reply = await chat.text(f"支付分{score}微粒贷利率多少")
    context = reply.say("faq_product").context
    assert context["pay_score"] == score
    product = kb.product("weilidai")
    if fits:
        assert context["mine"] == apr_range(product, score, None, kb)[0]
    else:
        assert context["mine"] is None
        assert f"{product.min_pay_score}分" in reply.text
    assert reply.slots["pay_score"] == score


@pytest.mark.parametrize("text", ["三款产品有什么不同", "微粒贷和we2000有啥区别", "哪个产品额度最高"])
async def test_several_or_no_products_named_get_the_comparison(chat, kb, text):
    reply = await chat.text(text)
    assert reply.names == ["faq_products"]
    for p in kb.products:
        assert p.name in reply.text and f"{p.min_pay_score}" in reply.text


def test_product_figures_follow_the_kb(dialogue, kb):
    """A copy of the kb with other figures shows those, not the article's."""
    products = tuple(
        dataclasses.replace(p, min_pay_score=633, limit_max=210000) if p.key == "weilidai" else p
        for p in kb.products
    )
    changed = dataclasses.replace(kb, products=products)
    text = dialogue.renderer.render_one(
        "faq_product",
        {"kb": changed, "product": "weilidai", "focus": None, "tiers": [], "pay_score": None,
         "mine": None},
    )
    assert "633分" in text and "210,000" in text
    assert "620" not in text and "200,000" not in text


# --- groups, channels, materials, grades, discount --------------------------------------


@pytest.mark.parametrize(
    ("text", "identity"),
    [
        ("学生额度上限是多少", "student"),
        ("学生能开通吗", "student"),
        ("个体户最高能贷多少", "business_owner"),
        ("新用户能借多少", "new_user"),
    ],
)
async def test_a_group_question_gets_that_groups_track(chat, kb, text, identity):
    reply = await chat.text(text)
    assert reply.names == ["faq_group"]
    assert reply.say("faq_group").context["identity"] == identity
    group = kb.group(Identity(identity))
    assert group is not None and reply.slots["_last"]["sources"][0] == group.id
    if group.limit_cap is not None:
        assert f"{group.limit_cap:,}" in reply.text or f"{group.limit_cap // 10000}万" in reply.text
    assert reply.slots.get("identity") == identity  # the likely reading, as before
    assert len(reply.text.encode()) < SHORT_BYTES


async def test_the_group_overview_when_no_group_is_named(chat):
    reply = await chat.text("特殊人群有哪些")
    assert reply.names == ["faq_special_groups"]


@pytest.mark.parametrize(
    ("text", "channel"),
    [("商家可以在美团里申请吗", "scene"), ("小程序审核要多久", "mini_program"),
     ("钱包入口在哪里", "wallet")],
)
async def test_a_channel_question_gets_that_channel(chat, kb, text, channel):
    reply = await chat.text(text)
    assert reply.names == ["faq_channel"]
    assert reply.say("faq_channel").context["channel"] == channel
    ch = kb.channel(channel)
    assert f"{ch.pass_rate_pct}%" in reply.text and f"±{ch.limit_error_pct}%" in reply.text
    assert reply.outcome.flow is None
    assert len(reply.text.encode()) < SHORT_BYTES


@pytest.mark.parametrize(
    ("text", "material"),
    [("上传房产证能提多少", "property"), ("社保有没有用", "social_security"),
     ("企业认证几天生效", "business")],
)
async def test_a_material_question_gets_the_articles_figures_unmultiplied(
    chat, kb, text, material
):
    reply = await chat.text(text)
    assert reply.names == ["faq_material"]
    info = kb.material(Material(material))
    assert f"{info.probability_pct}%" in reply.text
    assert f"{info.avg_increase_pct}%" in reply.text
    assert f"{info.effective_working_days}个工作日" in reply.text
    product = info.expected_gain_pct.normalize()
    assert f"{product}%" not in reply.text  # never probability × increase
    assert "materials" not in reply.slots  # asking about a material is not having it
    assert len(reply.text.encode()) < SHORT_BYTES


async def test_materials_without_one_named_get_the_table(chat, kb):
    reply = await chat.text("行驶证有用吗")
    assert reply.names == ["faq_materials"]
    assert all(m.name in reply.text for m in kb.materials)


@pytest.mark.parametrize(("text", "grade"), [("A级是什么意思", "A"), ("c级会怎么样", "C"),
                                             ("风险评级有几级", None)])
async def test_risk_grades(chat, kb, text, grade):
    reply = await chat.text(text)
    assert reply.names == ["faq_risk_grades"]
    assert reply.say("faq_risk_grades").context["grade"] == grade
    assert all(f"{g.grade.value}级" in reply.text for g in kb.grades)
    assert f"{kb.grade(kb.grades[0].grade).limit_change_pct}%" in reply.text


async def test_the_first_loan_discount_states_its_reading(chat, kb):
    reply = await chat.text("首借有优惠吗")
    assert reply.names == ["faq_discount"]
    assert f"下浮{kb.rules.first_loan_discount_pct.value}%" in reply.text
    for p in kb.products:  # never below the table's floor
        assert f"{p.name} {p.apr_min.normalize()}%" in reply.text


# --- daily rate ⇄ APR -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "daily", "apr"),
    [("日利率0.03%年化多少", Decimal("0.03"), None), ("日息万五年化是多少", Decimal("0.05"), None),
     ("年化18%日利率多少", None, Decimal("18")), ("日利率和年化怎么换算", None, None)],
)
async def test_rate_conversion_computes_and_states_its_basis(chat, kb, text, daily, apr):
    reply = await chat.text(text)
    assert reply.names == ["faq_rate_conversion"]
    context = reply.say("faq_rate_conversion").context
    assert (context["daily_pct"], context["apr_pct"]) == (daily, apr)
    if daily is not None:
        assert context["to_apr"] == [daily_rate_to_apr(daily, d) for d in DAY_COUNTS]
    if apr is not None:
        assert context["to_daily"] == [apr_to_daily_rate(apr, d) for d in DAY_COUNTS]
    wld = kb.product("weilidai")
    assert "0.02%×360=7.2%" in reply.text and "0.05%×365=18.25%" in reply.text
    assert (wld.apr_min, wld.apr_max) == (Decimal("7.2"), Decimal("18.25"))


async def test_a_daily_rate_is_converted_both_ways_in_the_reply(chat):
    reply = await chat.text("日利率0.03%年化多少")
    assert "按一年360天≈年化10.8%" in reply.text and "按365天≈年化10.95%" in reply.text


async def test_a_rate_the_calculator_refuses_is_not_converted(chat):
    reply = await chat.text("日利率0.5%年化多少")  # 180 % a year: outside 0..36 %
    context = reply.say("faq_rate_conversion").context
    assert context["invalid"] is True and context["to_apr"] is None
    assert "180" not in reply.text


def _every_direct_question(kb):
    for p in kb.products:
        yield f"{p.name}利率多少"
        yield f"支付分780，{p.name}利率多少"
        yield f"支付分590，{p.name}最高能借多少"
    yield from ("学生额度上限是多少", "个体户最高能贷多少", "新用户能借多少", "三款产品有什么不同")
    yield from ("美团里能开通吗", "小程序审核要多久", "钱包入口在哪里")
    yield from ("上传房产证能提多少", "社保有没有用", "企业认证几天生效", "行驶证有用吗")
    yield from ("A级是什么意思", "风险评级有几级", "首借有优惠吗", "日利率0.03%年化多少")


async def test_every_direct_answer_is_one_short_bubble(chat, kb):
    for text in _every_direct_question(kb):
        reply = await chat.text(text)
        assert len(reply.names) == 1 and reply.names[0].startswith("faq_"), (text, reply.names)
        assert len(reply.text.encode()) < SHORT_BYTES, (text, len(reply.text.encode()))


# --- what the article does not say ---------------------------------------------------------


def test_every_uncovered_topic_has_nearest_entries_that_exist(kb):
    assert set(NEAREST) == set(UNCOVERED)
    for topic, ids in NEAREST.items():
        assert 1 <= len(ids) <= 2, topic
        assert all(i in kb.entries for i in ids), topic


def test_every_uncovered_word_makes_the_uncovered_intent(chat):
    for topic, words in UNCOVERED.items():
        for word in words:
            understanding = chat.services.interpret(word, None)
            assert "uncovered" in understanding.intents, (topic, word)


@pytest.mark.parametrize("topic", sorted(UNCOVERED))
async def test_an_uncovered_question_says_so_with_the_nearest_entries(chat, kb, topic):
    question = UNCOVERED[topic][0]
    reply = await chat.text(question)
    assert reply.names == ["faq_uncovered"], question
    context = reply.say("faq_uncovered").context
    assert context["topic"] == topic
    assert [e.id for e in context["nearest"]] == list(NEAREST[topic])
    assert "文章没有提到" in reply.text and "转人工" in reply.text
    assert "这个问题" not in reply.text  # every topic has its own name in the template
    # never an invented figure: every number is in the quoted entries or a product's name
    quoted = "".join(e.text for e in context["nearest"]) + "".join(p.name for p in kb.products)
    assert set(re.findall(r"\d+", reply.text)) <= set(re.findall(r"\d+", quoted)), question
    assert reply.slots["_last"]["sources"] == list(NEAREST[topic])
    assert reply.outcome.flow is None and not reply.outcome.transfer
    assert len(reply.text.encode()) < SHORT_BYTES


@pytest.mark.parametrize(
    ("text", "topic"),
    [("微粒贷官方电话是多少", "customer_service"), ("怎么注销微粒贷", "close_account"),
     ("18岁可以申请吗", "age"), ("分付怎么开通", "fenfu")],
)
async def test_uncovered_wins_over_a_product_or_a_flow(chat, text, topic):
    reply = await chat.text(text)
    assert reply.names == ["faq_uncovered"]
    assert reply.say("faq_uncovered").context["topic"] == topic


# --- follow-ups keep context ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "then", "template", "key", "value"),
    [
        ("微粒贷利率多少", "那We2000呢", "faq_product", "product", "we2000"),
        ("we2000最多借多少", "那合作银行贷呢", "faq_product", "product", "partner_bank"),
        ("个体户最高能贷多少", "学生呢", "faq_group", "identity", "student"),
        ("上传房产证能提多少", "社保呢", "faq_material", "material", "social_security"),
        ("小程序审核要多久", "那钱包呢", "faq_channel", "channel", "wallet"),
        ("we2000最多借多少", "利率呢", "faq_product", "product", "we2000"),
        ("上传房产证能提多少", "那多久生效呢", "faq_material", "material", "property"),
    ],
)
async def test_a_follow_up_keeps_the_topic(chat, first, then, template, key, value):
    reply = await chat.last(first, then)
    assert reply.names == [template]
    assert reply.say(template).context[key] == value
    assert reply.outcome.flow is None  # never a questionnaire


async def test_the_same_question_about_another_product(chat):
    reply = await chat.last("微粒贷利率多少", "那We2000呢")
    assert reply.say("faq_product").context["focus"] == "rate"
    reply = await chat.last("微粒贷最低要多少分", "那We2000呢")
    assert reply.say("faq_product").context["focus"] is None
    reply = await chat.last("we2000最多借多少", "利率呢")
    assert reply.say("faq_product").context["focus"] == "rate"


async def test_without_a_follow_up_word_a_question_is_about_them_all(chat):
    reply = await chat.last("微粒贷利率多少", "额度多少")
    assert reply.names == ["faq_products"]
    reply = await chat.last("上传房产证能提多少", "补充资料有什么用")
    assert reply.names == ["faq_materials"]


async def test_the_session_remembers_the_answer_and_the_last_flow(chat, kb):
    state = State(slots={"_last": {"topic": "eligibility", "flow": "eligibility",
                                   "sources": ["product.we2000"]}})
    reply = await chat.text("微粒贷利率多少", state)
    last = reply.slots["_last"]
    assert last["topic"] == "faq" and last["faq"] == "product"
    assert (last["product"], last["focus"]) == ("weilidai", "rate")
    assert last["flow"] == "eligibility"  # a correction later still knows its card
    assert last["sources"][0] == kb.product("weilidai").id


async def test_why_after_a_direct_answer_cites_its_entries(chat, kb):
    reply = await chat.last("上传房产证能提多少", "为什么")
    assert reply.names == ["card_why"]
    assert [e.id for e in reply.say("card_why").context["entries"]] == [
        kb.material(Material.PROPERTY).id
    ]


# --- small talk --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "idle", "mid_flow"),
    [
        ("你好", ["greeting", "menu"], ["greeting", "back_to_question", "ask"]),
        ("谢谢", ["thanks"], ["thanks", "back_to_question", "ask"]),
        ("帮助", ["menu"], ["menu", "back_to_question", "ask"]),
    ],
)
async def test_small_talk(chat, text, idle, mid_flow):
    assert (await chat.text(text)).names == idle
    reply = await chat.text(text, MID_FLOW)
    assert reply.names == mid_flow
    assert reply.outcome.step == "pay_score"


async def test_goodbye_ends_the_flow_and_keeps_the_facts(chat):
    reply = await chat.text("再见", MID_FLOW)
    assert reply.names == ["goodbye"]
    assert (reply.outcome.flow, reply.outcome.step) == (None, None)
    assert reply.slots == {"overdue": "none"}


@pytest.mark.parametrize(
    ("text", "purpose"),
    [
        ("能借钱炒股吗", "investment"),
        ("微粒贷能用来付首付吗", "house"),
        ("借钱买房子行吗", "house"),
        ("贷款用途有限制吗", None),
    ],
)
async def test_banned_purposes_name_the_users_purpose(chat, text, purpose):
    reply = await chat.text(text)
    assert reply.names == ["faq_banned_purpose"]
    assert reply.say("faq_banned_purpose").context["purpose"] == purpose
