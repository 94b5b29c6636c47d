"""The dialogue templates render with real knowledge objects, stay short and quote the kb.

Every template is rendered through the production :class:`wxloan.handlers.rendering.Renderer`
(``StrictUndefined``: a missing variable fails the test) with results computed by the
knowledge core for a spread of profiles; the checks are the WeChat passive-reply
limit (2048 bytes), the figures the article gives, the reminder line, and that no
``None`` or unrendered Jinja leaks into a bubble.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from wxloan import knowledge
from wxloan.handlers.rendering import Renderer
from wxloan.knowledge import (
    CODES,
    ApplicantProfile,
    Identity,
    Material,
    Overdue,
    Purpose,
    RejectionHint,
)
from wxloan.knowledge.profile import FIELD_NAMES

MAX_BYTES = 2048
CARD_BYTES = 1400
TODAY = date(2026, 3, 1)
REMINDER = "量力而行"

KB = knowledge.load_knowledge()
RENDERER = Renderer()

PROFILES: dict[str, ApplicantProfile] = {
    "strong": ApplicantProfile(
        real_name_verified=True,
        face_verified=True,
        account_normal=True,
        pay_score=780,
        overdue=Overdue.NONE,
        inquiries_3m=1,
        payments_per_week=10,
        pay_history_months=36,
        identity=Identity.EMPLOYEE,
        materials=frozenset({Material.SOCIAL_SECURITY}),
        lingqiantong_balance=20000,
        ontime_periods=8,
        purpose=Purpose.CONSUMPTION,
        rejected_before=False,
    ),
    "weak": ApplicantProfile(
        real_name_verified=True,
        face_verified=True,
        account_normal=True,
        pay_score=600,
        overdue=Overdue.PAST,
        inquiries_3m=9,
        payments_per_week=1,
        pay_history_months=3,
        materials=frozenset(),
        lingqiantong_balance=3000,
        ontime_periods=2,
        purpose=Purpose.CONSUMPTION,
        rejected_before=True,
        rejected_on=TODAY - timedelta(days=20),
        rejection_hint=RejectionHint.SCORE_INSUFFICIENT,
    ),
    "below_all": ApplicantProfile(
        real_name_verified=True,
        face_verified=True,
        account_normal=True,
        pay_score=450,
        overdue=Overdue.NONE,
        purpose=Purpose.CONSUMPTION,
        rejection_hint=RejectionHint.TOO_MANY_INQUIRIES,
        lingqiantong_balance=10000,
    ),
    "student": ApplicantProfile(pay_score=680, identity=Identity.STUDENT, overdue=Overdue.NONE),
    "business_owner": ApplicantProfile(
        real_name_verified=True,
        face_verified=True,
        account_normal=True,
        pay_score=720,
        overdue=Overdue.NONE,
        identity=Identity.BUSINESS_OWNER,
        purpose=Purpose.BUSINESS,
        materials=frozenset(Material),
    ),
    "new_user": ApplicantProfile(
        real_name_verified=True,
        face_verified=True,
        account_normal=True,
        pay_score=760,
        overdue=Overdue.NONE,
        identity=Identity.NEW_USER,
        purpose=Purpose.CONSUMPTION,
        pay_history_months=2,
    ),
    "overdue_now": ApplicantProfile(overdue=Overdue.CURRENT, pay_score=700),
    "not_verified": ApplicantProfile(
        real_name_verified=False, face_verified=False, account_normal=False, pay_score=700
    ),
    "banned_house": ApplicantProfile(purpose=Purpose.HOUSE, pay_score=720),
    "banned_investment": ApplicantProfile(
        purpose=Purpose.INVESTMENT, overdue=Overdue.CURRENT, pay_score=650
    ),
    "unknown": ApplicantProfile(),
}


def render(name: str, **context: Any) -> str:
    context.setdefault("kb", KB)
    return RENDERER.render_one(name, context)


def check(text: str, limit: int = MAX_BYTES) -> str:
    """The invariants every bubble keeps."""
    assert text.strip(), "empty bubble"
    size = len(text.encode("utf-8"))
    assert size <= limit, f"{size} bytes > {limit}:\n{text}"
    for leak in ("None", "{{", "}}", "{%", "%}", "Undefined"):
        assert leak not in text, f"{leak!r} leaked:\n{text}"
    assert "\n\n\n" not in text, f"stray blank lines:\n{text}"
    return text


def pct(value: Decimal | int) -> str:
    """A kb percent as the templates print it (7.20 → 7.2%)."""
    text = f"{Decimal(value):.2f}".rstrip("0").rstrip(".")
    return f"{text}%"


# --------------------------------------------------------------------- cards


@pytest.mark.parametrize("name", PROFILES)
def test_assessment_card(name: str) -> None:
    profile = PROFILES[name]
    a = knowledge.assess(profile, KB, TODAY)
    text = check(render("card_assessment", a=a, profile=profile), CARD_BYTES)
    assert "非审批承诺" in text
    assert REMINDER in text
    assert "为什么" in text
    for verdict in a.verdicts:
        assert KB.product(verdict.product).name in text
        if verdict.limit is not None:
            assert f"{verdict.limit.low:,}" in text
    if a.channel.channel is not None:
        channel = KB.channel(a.channel.channel)
        assert channel.name in text
        assert f"{channel.pass_rate_pct}%" in text
    if a.banned_purpose is not None:
        assert "不允许" in text
    steps = [line for line in text.splitlines() if line[:2] in ("1.", "2.", "3.", "4.")]
    assert len(steps) <= 3


def test_assessment_card_figures() -> None:
    profile = PROFILES["strong"]
    text = render("card_assessment", a=knowledge.assess(profile, KB, TODAY), profile=profile)
    prime = KB.tiers[0]
    assert f"{pct(prime.apr_min)}–{pct(prime.apr_max)}" in text  # 7.2%–10.8%
    assert "A级" in text
    student = PROFILES["student"]
    text = render("card_assessment", a=knowledge.assess(student, KB, TODAY), profile=student)
    cap = KB.groups[0].limit_cap
    assert cap is not None and f"{cap:,}" in text
    assert "❌ 微粒贷" in text


def test_assessment_card_hard_stops() -> None:
    profile = PROFILES["banned_house"]
    text = render("card_assessment", a=knowledge.assess(profile, KB, TODAY), profile=profile)
    assert "购房" in text and "不允许" in text
    profile = PROFILES["overdue_now"]
    text = render("card_assessment", a=knowledge.assess(profile, KB, TODAY), profile=profile)
    assert "逾期" in text and "✅" not in text


@pytest.mark.parametrize("name", PROFILES)
def test_diagnosis_card(name: str) -> None:
    profile = PROFILES[name]
    d = knowledge.diagnose_rejection(profile, KB, TODAY)
    text = check(render("card_diagnosis", d=d, profile=profile), CARD_BYTES)
    assert REMINDER in text and "为什么" in text
    if d.reapply_on is not None:
        on = d.reapply_on
        assert f"{on.year}年{on.month}月{on.day}日" in text
    else:
        assert "逾期" in text
    numbered = [line for line in text.splitlines() if line[:2] in ("1.", "2.", "3.", "4.", "5.")]
    assert 1 <= len(numbered) <= 4


def test_diagnosis_card_figures() -> None:
    profile = PROFILES["weak"]
    text = render(
        "card_diagnosis", d=knowledge.diagnose_rejection(profile, KB, TODAY), profile=profile
    )
    rules = KB.rules
    assert f"{rules.payment_effect_pct.value}%" in text  # 27%
    assert f"{rules.materials_effect_pct.value}%" in text  # 39%
    assert f"{rules.cooling_days.value}天" in text  # 90天
    assert "综合评分不足" in text


@pytest.mark.parametrize("name", PROFILES)
def test_limits_card(name: str) -> None:
    profile = PROFILES[name]
    plan = knowledge.limit_plan(profile, KB)
    text = check(render("card_limits", plan=plan, profile=profile), CARD_BYTES)
    assert REMINDER in text
    numbered = [
        line for line in text.splitlines() if line[:2] in tuple(f"{i}." for i in range(1, 10))
    ]
    assert 1 <= len(numbered) <= 8
    if profile.overdue is not Overdue.CURRENT:  # an overdue card has one step: repay
        assert f"{KB.rules.annual_growth_pct.value}%" in text  # 58%


def test_limits_card_figures() -> None:
    profile = PROFILES["weak"]
    text = render("card_limits", plan=knowledge.limit_plan(profile, KB), profile=profile)
    prop = next(m for m in KB.materials if m.material is Material.PROPERTY)
    assert prop.name in text and f"{prop.probability_pct}%" in text
    assert f"{prop.avg_increase_pct}%" in text  # the article's 89% and 82%, as given
    assert pct(prop.expected_gain_pct) not in text  # never their product (72.98%)
    assert "还差4期" in text  # 6 - 2
    assert "7,000" in text  # 10,000 - 3,000
    strong = PROFILES["strong"]
    text = render("card_limits", plan=knowledge.limit_plan(strong, KB), profile=strong)
    assert "已做到" in text and "社保/公积金" in text


@pytest.mark.parametrize(
    ("amount", "months", "apr", "daily"),
    [
        (10000, 12, Decimal(18), None),
        (5000, 6, None, Decimal("0.05")),
        (3000, 1, Decimal("7.2"), None),
        (200000, 360, Decimal(24), None),
    ],
)
def test_calculator_card(
    amount: int, months: int, apr: Decimal | None, daily: Decimal | None
) -> None:
    apr_pct = knowledge.daily_rate_to_apr(daily) if daily is not None else apr
    assert apr_pct is not None
    inst = knowledge.equal_instalment(amount, apr_pct, months)
    prin = knowledge.equal_principal(amount, apr_pct, months)
    text = check(
        render(
            "card_calculator",
            amount=amount,
            months=months,
            apr_pct=apr_pct,
            daily_pct=daily,
            instalment=inst,
            principal=prin,
        ),
        CARD_BYTES,
    )
    assert REMINDER in text
    assert f"{inst.total_interest:,.2f}" in text


def test_calculator_card_reference_figures() -> None:
    inst = knowledge.equal_instalment(10000, 18, 12)
    prin = knowledge.equal_principal(10000, 18, 12)
    text = render(
        "card_calculator",
        amount=10000,
        months=12,
        apr_pct=Decimal(18),
        daily_pct=None,
        instalment=inst,
        principal=prin,
    )
    assert "916.80" in text and "1,001.61" in text  # 等额本息
    assert "983.33" in text and "975.00" in text  # 等额本金
    assert "0.05%" in text  # 18% / 360
    assert "7.2%≈日利率0.02%" in text


def test_ask_calculator() -> None:
    for missing in (["amount"], ["months", "apr"], ["amount", "months", "apr"]):
        text = check(render("ask_calculator", missing=missing))
        assert "借1万分12期" in text
    assert "分几期" in render("ask_calculator", missing=["months"])


def _random_profile(rng: random.Random) -> ApplicantProfile:
    def pick(*values: Any) -> Any:
        return rng.choice(values)

    days = pick(None, 3, 20, 89, 400, -5)
    return ApplicantProfile(
        real_name_verified=pick(None, True, True, False),
        face_verified=pick(None, True, True, False),
        account_normal=pick(None, True, True, False),
        pay_score=pick(None, 300, 579, 600, 620, 649, 650, 700, 749, 750, 850),
        overdue=pick(None, *Overdue),
        inquiries_3m=pick(None, 0, 6, 7, 40),
        payments_per_week=pick(None, 0, 2, 3, 20),
        pay_history_months=pick(None, 0, 5, 6, 120),
        identity=pick(None, *Identity),
        materials=pick(None, frozenset(), frozenset({Material.PROPERTY}), frozenset(Material)),
        lingqiantong_balance=pick(None, 0, 9999, 10000, 10001, 10**9),
        ontime_periods=pick(None, 0, 5, 6, 60),
        purpose=pick(None, *Purpose),
        rejected_before=pick(None, True, False),
        rejected_on=None if days is None else TODAY - timedelta(days=days),
        rejection_hint=pick(None, *RejectionHint),
    )


def test_cards_fit_for_many_profiles() -> None:
    """A seeded spread of profiles: every card stays within one passive reply."""
    rng = random.Random(20260301)
    largest = 0
    for _ in range(300):
        profile = _random_profile(rng)
        texts = (
            render("card_assessment", a=knowledge.assess(profile, KB, TODAY), profile=profile),
            render(
                "card_diagnosis",
                d=knowledge.diagnose_rejection(profile, KB, TODAY),
                profile=profile,
            ),
            render("card_limits", plan=knowledge.limit_plan(profile, KB), profile=profile),
        )
        for text in texts:
            check(text)
            largest = max(largest, len(text.encode("utf-8")))
    assert largest <= CARD_BYTES


def test_figures_follow_the_kb() -> None:
    """Change figures in a copy of the kb: the copy shows up, the article's does not."""
    wld = KB.product("weilidai")
    products = tuple(
        dataclasses.replace(p, min_pay_score=633, apr_min=Decimal("7.56")) if p is wld else p
        for p in KB.products
    )
    rules = dataclasses.replace(
        KB.rules,
        cooling_days=dataclasses.replace(KB.rules.cooling_days, value=97),
        first_loan_discount_pct=dataclasses.replace(KB.rules.first_loan_discount_pct, value=17),
        lingqiantong_threshold_yuan=dataclasses.replace(
            KB.rules.lingqiantong_threshold_yuan, value=30000
        ),
    )
    kb = dataclasses.replace(KB, products=products, rules=rules)
    text = RENDERER.render_one("faq_eligibility", {"kb": kb})
    assert "633" in text and "620" not in text and "7.56%" in text
    text = RENDERER.render_one("faq_rates", {"kb": kb})
    assert "17%" in text and "0.021%" in text  # 7.56 / 360
    text = RENDERER.render_one("brief_rejection", {"kb": kb, "profile": None})
    assert "97天" in text and "90天" not in text
    text = RENDERER.render_one("faq_after_opening", {"kb": kb})
    assert "3万元" in text and "1万元" not in text


def test_optional_context_may_be_missing() -> None:
    assert "学生" in render("faq_special_groups")
    assert "不允许" in render("faq_banned_purpose")
    inst = knowledge.equal_instalment(10000, 18, 12)
    prin = knowledge.equal_principal(10000, 18, 12)
    text = render(
        "card_calculator",
        amount=10000,
        months=12,
        apr_pct=Decimal(18),
        instalment=inst,
        principal=prin,
    )
    assert "916.80" in text


# ------------------------------------------------------------------ questions


@pytest.mark.parametrize("field", FIELD_NAMES)
@pytest.mark.parametrize("attempt", [0, 1, 2])
def test_ask_every_field(field: str, attempt: int) -> None:
    invalid = 900 if attempt == 2 else None
    text = check(render("ask", field=field, attempt=attempt, invalid_value=invalid))
    assert text.count("❓") == 1 and "跳过" in text  # one question per bubble
    assert len(text) <= 150, text  # a short bubble: question, one clause of why, how to answer
    if attempt and invalid is not None:
        assert "900" in text


def test_ask_figures_from_kb() -> None:
    text = render("ask", field="pay_score", attempt=1, invalid_value=900)
    for product in KB.products:
        assert f"{product.min_pay_score}分" in text
    assert "300–850" in text and "900" in text
    text = render("ask", field="rejected_on", attempt=0, invalid_value=None)
    assert "大概多久以前被拒的？" in text and "上周" in text
    first = render("ask", field="overdue", attempt=0, invalid_value=None)
    again = render("ask", field="overdue", attempt=1, invalid_value=None)
    assert len(again) > len(first)  # the re-ask adds a hint


@pytest.mark.parametrize("field", FIELD_NAMES)
def test_ask_skipped(field: str) -> None:
    # The flow renders it without kb.
    text = check(RENDERER.render_one("ask_skipped", {"field": field}))
    assert "跳过" in text


# ------------------------------------------------------------------ why


@pytest.mark.parametrize("name", ["strong", "weak", "unknown", "overdue_now"])
def test_why_card(name: str) -> None:
    profile = PROFILES[name]
    results = {
        "assessment": knowledge.assess(profile, KB, TODAY).sources,
        "diagnosis": knowledge.diagnose_rejection(profile, KB, TODAY).sources,
        "limits": knowledge.limit_plan(profile, KB).sources,
        "faq": tuple(KB.entries)[:3],
    }
    for topic, sources in results.items():
        entries = KB.explain(sources)[:4]  # a batch of commands.WHY_BATCH
        remaining = len(sources) - len(entries)
        text = check(render("card_why", entries=entries, topic=topic, first=True,
                            remaining=remaining))
        assert "依据（文章参考数据）" in text
        bullets = [line for line in text.splitlines() if line.startswith("· ")]
        assert len(bullets) == len(entries)
        assert ("更多" in text) is (remaining > 0)
        assert entries[0].text in text
        assert f"第{entries[0].section}部分" in text or KB.section(0).title in text


def test_why_card_all_entries_fit() -> None:
    entries = tuple(KB.entries.values())
    for start in range(0, len(entries), 4):  # every batch "更多" can show fits a bubble
        batch = entries[start:start + 4]
        check(render("card_why", entries=batch, topic="faq", first=start == 0,
                     remaining=len(entries) - start - len(batch)))


# ------------------------------------------------------------------ FAQ


FAQ_TOPICS = (
    "eligibility",
    "rates",
    "channels",
    "risk_control",
    "after_opening",
    "limit_factors",
    "rejection_reasons",
)


@pytest.mark.parametrize("topic", FAQ_TOPICS)
def test_faq(topic: str) -> None:
    check(render(f"faq_{topic}"))


def test_faq_figures() -> None:
    text = render("faq_eligibility")
    for p in KB.products:
        assert f"{p.limit_min:,}–{p.limit_max:,}元" in text
        assert f"{pct(p.apr_min)}–{pct(p.apr_max)}" in text
    text = render("faq_rates")
    for t in KB.tiers:
        assert f"{pct(t.apr_min)}–{pct(t.apr_max)}" in text
    assert "0.02%" in text and "7.2%" in text
    assert f"{KB.rules.first_loan_discount_pct.value}%" in text
    text = render("faq_channels")
    for ch in KB.channels:
        assert (
            ch.name in text and f"{ch.pass_rate_pct}%" in text and f"±{ch.limit_error_pct}%" in text
        )
    text = render("faq_risk_control")
    assert "不允许" in text and f"{KB.rules.inactivity_days.value}天" in text
    assert all(f"{g.grade.value}级" in text for g in KB.grades)
    text = render("faq_after_opening")
    assert f"{KB.rules.ontime_periods.value}期" in text and "1万元" in text
    assert f"{KB.rules.annual_growth_pct.value}%" in text and REMINDER in text
    text = render("faq_limit_factors")
    assert all(f"{f.weight_pct}%" in text for f in KB.factors)
    assert all(m.name in text for m in KB.materials)
    text = render("faq_rejection_reasons")
    assert "27%" in text and "39%" in text and "90天" in text


@pytest.mark.parametrize("identity", [None, "student", "business_owner", "new_user"])
def test_faq_special_groups(identity: str | None) -> None:
    text = check(render("faq_special_groups", identity=identity))
    if identity in (None, "student"):
        assert "5,000元" in text
    if identity in (None, "business_owner"):
        assert "50万元" in text
    if identity == "student":
        assert "50万" not in text and "We2000" in text


@pytest.mark.parametrize("purpose", [None, "house", "investment", Purpose.HOUSE])
def test_faq_banned_purpose(purpose: Any) -> None:
    text = check(render("faq_banned_purpose", purpose=purpose))
    assert "不允许" in text and REMINDER in text
    if purpose == "house":
        assert "购房" in text
    if purpose == "investment":
        assert "投资" in text


# ------------------------------------------------------------------ scam and small talk


SCAM_PATTERNS = {
    "upfront_fee": "保证金",
    "internal_channel": "内部渠道",
    "fake_flow": "刷流水",
    "verification_code": "验证码",
    "safe_account": "安全账户",
    "impersonation": "假客服",
    "phishing_link": "钓鱼",
    "unknown_app": "陌生APP",
    "credit_repair": "修复",
    "campus_loan_cancel": "注销校园贷",
    "refund": "退款",
}


def test_every_scam_pattern_has_its_line() -> None:
    from wxloan.handlers.nlu import SCAM_PATTERN_IDS

    assert set(SCAM_PATTERNS) == set(SCAM_PATTERN_IDS)


@pytest.mark.parametrize("pattern", SCAM_PATTERNS)
def test_scam_names_each_pattern(pattern: str) -> None:
    # The anti-fraud numbers come from the kb (kb.rules.anti_fraud), not the template.
    text = check(render("scam_warning", patterns=(pattern,)))
    assert "⚠️" in text and SCAM_PATTERNS[pattern] in text
    assert "110" in text and "96110" in text


def test_scam_all_patterns_and_none() -> None:
    text = check(render("scam_warning", patterns=tuple(SCAM_PATTERNS)))
    assert all(word in text for word in SCAM_PATTERNS.values())
    bullets = [line for line in text.splitlines() if line.startswith("· ")]
    assert len(bullets) == len(SCAM_PATTERNS)
    assert check(render("scam_warning", patterns=()))


SMALL = (
    "thanks",
    "goodbye",
    "greeting",
    "restarted",
    "cancelled",
    "refine_hint",
    "correction_unclear",
    "back_to_question",
    "why_nothing",
    "_reminder",
)


def test_human_handoff_names_the_quiet_period() -> None:
    text = check(RENDERER.render_one("human_handoff", {"minutes": 30}), 400)
    assert "30分钟" in text and "验证码" in text


@pytest.mark.parametrize("name", SMALL)
def test_small_templates_render_without_kb(name: str) -> None:
    check(RENDERER.render_one(name, {}), 400)


# ------------------------------------------------------------------ codes


SAMPLE_PARAMS: Mapping[str, Any] = {
    "purpose": "house",
    "field": "pay_score",
    "tier": "subprime",
    "channel": "mini_program",
    "material": "property",
    "materials": ("social_security", "property", "business"),
    "rejected_on": date(2026, 1, 5),
    "cooling_until": date(2026, 4, 5),
    "assumed_date": date(2026, 3, 1),
    "from_date": date(2026, 1, 5),
    "until": date(2026, 4, 5),
    "tier_apr_min": Decimal(18),
    "tier_apr_max": Decimal(24),
    "product_apr_min": Decimal("7.2"),
    "product_apr_max": Decimal("18.25"),
    "expected_gain_pct": Decimal("72.98"),
    "balance_yuan": 4000,
    "shortfall_yuan": 6000,
}

CODE_TEMPLATE = RENDERER.env.from_string(
    '{% import "_codes.txt.j2" as c %}{{ c.code(code, params, kb) }}'
)


def sample(name: str) -> Any:
    return SAMPLE_PARAMS.get(name, 7)


def render_code(code: str, params: Mapping[str, Any]) -> str:
    return CODE_TEMPLATE.render(code=code, params=params, kb=KB)


@pytest.mark.parametrize("code", sorted(CODES))
def test_every_code_renders(code: str) -> None:
    params = {name: sample(name) for name in CODES[code].params}
    text = render_code(code, params)
    assert text.strip() and "\n" not in text
    check(text, 300)
    # None where CODES says the param may be None
    nullable = [n for n, doc in CODES[code].params.items() if "or None" in doc]
    if nullable:
        text = render_code(code, {**params, **{n: None for n in nullable}})
        check(text, 300)


def test_code_sentences_quote_params() -> None:
    assert "620" in render_code("pay_score_below_min", {"pay_score": 600, "min_pay_score": 620})
    assert "房产证明" in render_code(
        "add_material", {**{n: 7 for n in CODES["add_material"].params}, "material": "property"}
    )
    text = render_code("add_credit_materials", {"materials": ("social_security", "business")})
    assert "社保/公积金" in text and "企业认证" in text
    assert "不允许" in render_code("purpose_banned", {"purpose": "investment"})
    assert "A级" in render_code("temporary_raise", {}) and "30%" in render_code(
        "temporary_raise", {}
    )
    text = render_code("apr_tier", {**SAMPLE_PARAMS, "tier": "prime"})
    assert "优质客户" in text
    text = render_code(
        "reapply_after_cooling",
        {"days": 90, "from_date": date(2026, 1, 5), "until": date(2026, 4, 5)},
    )
    assert "2026年4月5日" in text
    assert render_code("no_such_code", {}) == ""


def test_every_real_code_is_covered() -> None:
    """Every code the rules emit for the sample profiles renders to a sentence."""
    seen: set[str] = set()
    for profile in PROFILES.values():
        a = knowledge.assess(profile, KB, TODAY)
        reasons = [r for v in a.verdicts for r in v.reasons + v.pricing]
        reasons += list(a.risk.reasons + a.channel.reasons + a.factors + a.reminders)
        if a.special_track is not None:
            reasons += list(a.special_track.reasons)
        d = knowledge.diagnose_rejection(profile, KB, TODAY)
        plan = knowledge.limit_plan(profile, KB)
        items: list[Any] = [
            *reasons,
            *d.causes,
            *d.reapply,
            *plan.actions,
            *plan.achieved,
            *plan.outlook,
        ]
        for cause in d.causes:
            for remedy in cause.remedies:
                items.append(remedy)
                if remedy.effect is not None:
                    items.append(remedy.effect)
        for item in items:
            seen.add(item.code)
            assert render_code(item.code, item.params).strip(), item.code
        if a.risk.effect is not None:
            assert render_code(a.risk.effect, {}).strip()
    assert seen <= set(CODES)


# ------------------------------------------------------------------ helpers


def test_format_helpers() -> None:
    env = RENDERER.env
    tpl = env.from_string(
        '{% import "_codes.txt.j2" as c %}'
        "{{ c.apr(a) }}|{{ c.apr(b) }}|{{ c.apr_range(r) }}|{{ c.limit_range(l) }}|{{ c.date_cn(d) }}"
        "|{{ c.product_name('we2000', kb) }}|{{ c.channel_name('scene', kb) }}"
        "|{{ c.material_name('social_security', kb) }}|{{ c.money(10000) }}|{{ c.money(5000) }}"
    )
    text = tpl.render(
        a=Decimal("7.20"),
        b=Decimal(12),
        r=knowledge.Range(Decimal("7.2"), Decimal("10.8")),
        l=knowledge.Range(8000, 200000),
        d=date(2027, 3, 1),
        kb=KB,
    )
    assert text == (
        "7.2%|12%|7.2%–10.8%|8,000–200,000元|2027年3月1日|We2000|消费场景入口|社保/公积金|1万元|5,000元"
    )


def test_memoised_render_equals_a_fresh_render_and_never_caches_changing_objects() -> None:
    kb = knowledge.load_knowledge()
    memo = Renderer()
    memo.register_stable(kb)
    fresh = Renderer()
    for name in ("faq_rates", "faq_channels", "faq_risk_control"):
        first = memo.render_one(name, {"kb": kb})
        assert first == memo.render_one(name, {"kb": kb}) == fresh.render_one(name, {"kb": kb})
    assert len(memo._memo) == 3
    ask = {"field": "pay_score", "attempt": 1, "invalid_value": 900, "position": 2, "kb": kb}
    assert memo.render_one("ask", ask) == fresh.render_one("ask", ask)
    assert memo.render_one("ask", {**ask, "invalid_value": 100}) != memo.render_one("ask", ask)
    profile = knowledge.ApplicantProfile(pay_score=720)
    card = {"a": knowledge.assess(profile, kb, date(2026, 1, 1)), "profile": profile, "kb": kb}
    memo.render_one("card_assessment", card)
    assert len(memo._memo) == 5  # the two asks; results of assess() are never memoised
