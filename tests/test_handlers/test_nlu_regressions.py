"""Utterances that conversation transcripts caught being misread (kept fixed)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from wxloan.handlers.nlu import Understander

NLU = Understander()


def test_thousand_while_a_pay_score_is_asked_is_an_out_of_range_score():
    for text in ("一千分", "一千"):
        result = NLU.understand(text, expecting="pay_score")
        assert result.out_of_range.get("pay_score") == 1000, text
        assert "amount" not in result.slots and "calculator" not in result.intents


def test_chinese_score_while_asked_stays_a_score():
    assert NLU.understand("七百", expecting="pay_score").slots["pay_score"] == 700


def test_a_fee_before_the_loan_is_paid_out_is_a_scam_in_other_words_too():
    result = NLU.understand("放款之前要交手续费吗")
    assert result.intent == "scam" and "upfront_fee" in result.scam_patterns


def test_the_word_normal_alone_is_not_an_account_status_outside_the_question():
    assert "account_normal" not in NLU.understand("手续费正常吗").slots
    assert NLU.understand("正常", expecting="account_normal").slots["account_normal"] is True
    assert NLU.understand("被冻结了", expecting="account_normal").slots["account_normal"] is False


# --- slot reading: the misses the labelled examples' train split showed, in new words ---

_UNSET = object()


def row(
    text: str,
    slots: dict[str, object] | None = None,
    *,
    absent: tuple[str, ...] = (),
    expecting: str | None = None,
    ranges: dict[str, tuple[int, int]] | object = _UNSET,
    negated_values: dict[str, set[str]] | None = None,
) -> Any:
    return pytest.param(
        text,
        expecting,
        dict(slots or {}),
        absent,
        ranges,
        negated_values or {},
        id=f"{text}|{expecting}" if expecting else text,
    )


SLOT_ROWS = [
    # a negator spelled with 都 / 也 / 一次 still denies what follows it
    row("我从来都没逾期过呀", {"overdue": "none"}),
    row("一次都没有逾期", {"overdue": "none"}),
    row("信用卡一次也没逾期过", {"overdue": "none"}),
    row("征信一次也没被查", {"inquiries_3m": 0}),  # 一次 is no count here
    row("没有查询记录", {"inquiries_3m": 0}),
    row("额度看不看逾期", absent=("overdue",)),  # 看不看 asks
    row("不对 支付分是710", {"pay_score": 710}),  # 不对 negates nothing after it
    # overdue in other words
    row("征信挺干净的", {"overdue": "none"}),
    row("以前有过不良，现在还清了", {"overdue": "past"}),
    row("晚还过两天", {"overdue": "past"}),
    row("从没晚还过", {"overdue": "none"}),
    row("欠着网贷没还", {"overdue": "current"}),
    # identity: jobs and shops said in other words; words that only contain a group word
    row("我是老师", {"identity": "employee"}),
    row("在国企上班", {"identity": "employee"}),
    row("我是快递员", {"identity": "employee"}),
    row("开了家奶茶店", {"identity": "business_owner"}),
    row("研二在读", {"identity": "student"}),
    row("人工 人工 人工", absent=("identity",)),  # not 工人
    row("老师好，请问利率多少", absent=("identity",)),  # a greeting
    row("有人说他是微众内部员工", absent=("identity",)),  # the bank's staff, not the user
    row("公积金几个工作日生效", absent=("identity",)),
    row("给工人发工资", absent=("identity",)),
    # a space between words separates statements; next to one character it is typing
    row(
        "社保没交 有房",
        {"materials": ["property"]},
        negated_values={"materials": {"social_security"}},
    ),
    row("公积金没有 房也没有", absent=("materials",)),
    row("借20000 12期", {"amount": 20000, "months": 12}),
    row("借 3000", {"amount": 3000}),
    # a bare number of score size, nothing asked, is a pay score; a bare 两年 a loan term
    row("710", {"pay_score": 710}),
    row("应该是六百五", {"pay_score": 650}),
    row("分是720", {"pay_score": 720}),
    row("分700", {"pay_score": 700}, absent=("months",)),
    row("700", {"amount": 700}, expecting="amount", absent=("pay_score",)),
    row("三年吧", {"months": 36}),
    row("半年就行", {"months": 6}),
    row("微粒贷开通两年了额度一直不涨", absent=("months",)),
    # numerals
    row("七百多一点", {"pay_score": 700}),
    row("估计五百八九", {"pay_score": 585}, ranges={"pay_score": (580, 590)}),
    row("借两千三个月", {"amount": 2000, "months": 3}),
    row("借3千6期", {"amount": 3000, "months": 6}),
    row("日息万分之二点五", {"daily_rate": Decimal("0.00025")}),
    row("分几期比较好", absent=("months",)),  # a bare 几 asks
    row("利息一般几个点", absent=("apr", "daily_rate")),
    row("最多能借几年", absent=("months",)),
    # typos and abbreviations
    row("知付分七百", {"pay_score": 700}),
    row("我的score 650", {"pay_score": 650}),
    row("apr 24%", {"apr": Decimal("0.24")}),
    # 刚 only says "just": a day named beside it wins
    row("前天刚被拒了", {"rejected_days_ago": 2}),
    row("上个月刚被拒", {"rejected_days_ago": 30}),
    row("刚被拒", {"rejected_days_ago": 0}),
    # 没交 / 没缴 deny what follows them too
    row("我没交社保", absent=("materials",), negated_values={"materials": {"social_security"}}),
    row("没缴公积金，有房", {"materials": ["property"]}),
    # a failed check is no rejection
    row("人脸没通过", {"face_verified": False}, absent=("rejected_before",)),
    row("实名认证没通过", {"real_name_verified": False}, absent=("rejected_before",)),
    # money paid, lost or offered is no loan amount; a bare 8000 is
    row("被人骗走了两万", absent=("amount",)),
    row("他让我先交3000保证金", absent=("amount",)),
    row("学生限额三千吗", absent=("amount",)),
    row("8000", {"amount": 8000}),
    row("对方让我转600手续费", absent=("pay_score", "amount")),
    row("零钱通刚转了三千进去", {"lingqiantong_balance": 3000}, absent=("amount",)),
    # rates: a change is no rate; 一天 / 按日 name a daily rate; 个点 are percentage points
    row("首借利率下浮20%", absent=("apr",)),
    row("一天万分之四", {"daily_rate": Decimal("0.0004")}),
    row("按日算0.05%", {"daily_rate": Decimal("0.0005")}),
    row("年化5个点", {"apr": Decimal("0.05")}),
    row("日利率换算年化为什么有两个数", absent=("apr", "daily_rate")),
    # counts: 个 counts, a far anchor after a count is not its own, 不是N denies N
    row("申请了3个平台", {"inquiries_3m": 3}),
    row("一个号码打过来说征信有问题", absent=("inquiries_3m",)),
    row("查询是四次不是三次", {"inquiries_3m": 4}),
    # payments: every day with no number is 7 a week; 一周 before a count is no duration
    row("每天吃饭都用微信付", {"payments_per_week": 7}),
    row("一个礼拜五次", {"payments_per_week": 5}),
    row("每天用两次微信支付", {"payments_per_week": 14}),
    row("没有逾期 一周付款四次", {"payments_per_week": 4}, absent=("ontime_periods",)),
    row("都按时还了五期", {"ontime_periods": 5}, absent=("months",)),
    # the step of 多 is the last digit's unit; a score-size number is no loan term
    row("我分数六百四十多", {"pay_score": 645}, ranges={"pay_score": (640, 650)}),
    row("分才580 有戏吗", {"pay_score": 580}, absent=("months",)),
    row("老板您好 想问下额度", absent=("identity",)),
    row("自己开了家服装店", {"identity": "business_owner"}),
    row("一次都没有", {"inquiries_3m": 0}, expecting="inquiries_3m"),
    # a member stated in one word and denied in another stays (社保 vs 公积金)
    row("有社保 没公积金", {"materials": ["social_security"]}),
    # a date said alone answers "when"; with a fact it dates the fact; 刚才 alone is no date
    row("三周前", {"rejected_days_ago": 21}),
    row("上上个月吧", {"rejected_days_ago": 60}),
    row("大概一个半月前", {"rejected_days_ago": 45}),
    row("前两天被拒了", {"rejected_days_ago": 2}),
    row("两年前逾期过", {"overdue": "past"}, absent=("rejected_days_ago",)),
    row("刚才打错了", absent=("rejected_days_ago",)),
    row("上周问过 结果是什么", absent=("rejected_days_ago",)),
    row("微信玩了五年", {"pay_history_months": 60}, absent=("months",)),
    row("年化除以365是多少", absent=("pay_score", "daily_rate")),
    # a failed review in other words states a rejection; one asked in general does not
    row("审核没过是什么原因", {"rejected_before": True}),
    row("微粒贷一直不给我额度", {"rejected_before": True}),
    row("什么样的用户容易被拒", absent=("rejected_before",)),
    row("一般为什么被拒", absent=("rejected_before",)),
    row("开通完了要注意啥", absent=("rejected_before",)),  # not 开通不了
]


@pytest.mark.parametrize(
    ("text", "expecting", "slots", "absent", "ranges", "negated_values"), SLOT_ROWS
)
def test_slot_reading(
    text: str,
    expecting: str | None,
    slots: dict[str, object],
    absent: tuple[str, ...],
    ranges: object,
    negated_values: dict[str, set[str]],
) -> None:
    u = NLU.understand(text, expecting)
    for name, want in slots.items():
        assert u.slots.get(name) == want, (name, u)
    for name in absent:
        assert name not in u.slots, (name, u)
    if ranges is not _UNSET:
        assert dict(u.ranges) == ranges, u
    for name, values in negated_values.items():
        assert values <= u.negated_values.get(name, frozenset()), u
