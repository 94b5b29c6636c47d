"""Utterance table for handlers.nlu: real-style messages -> intents and slots.

Each row states only what matters for it; unchecked fields may be anything.
``intent=None`` means "no intent at all"; leaving ``intent`` out skips the check.
The coverage tests at the bottom fail if the table stops exercising an intent,
a slot or a scam pattern.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import pytest

from wxloan.handlers.nlu import INTENT_IDS, SCAM_PATTERN_IDS, SLOT_NAMES, Understander, Understanding

_SKIP_CHECK = object()


def case(
    text: str,
    intent: object = _SKIP_CHECK,
    slots: Mapping[str, object] | None = None,
    *,
    expecting: str | None = None,
    **checks: Any,
) -> Any:
    return pytest.param(
        text,
        expecting,
        intent,
        dict(slots or {}),
        checks,
        id=f"{text[:16]}|{expecting}" if expecting else text[:16],
    )


CASES = [
    # --- eligibility / channels / special groups -------------------------------
    case("微粒贷怎么开通啊", "eligibility", products=("weilidai",)),
    case("我能开通微粒贷吗", "eligibility"),
    case("徽粒贷咋开通😭", "eligibility", products=("weilidai",)),  # fuzzy: 徽 -> 微
    case("微利贷怎么申请", "eligibility", products=("weilidai",)),  # typo table
    case("开通微粒贷要什么条件？？？", "requirements"),
    case("We2000和微粒贷哪个好开", "product_info", products=("we2000", "weilidai")),
    case("W2000能开吗", "eligibility", products=("we2000",), absent={"amount"}),  # not ¥2000
    case("我的手机号138****5678，日利率多少", "rates", absent={"amount"}),  # masked: no number
    case("能借钱吗", "eligibility"),
    case("在哪开通", "channels"),
    case("找不到入口", "channels"),
    case("小程序在哪", "channels"),
    case("怎么找到微粒贷入口", "channels"),
    case("钱包里面没看到", "channels"),
    case("学生能开吗", "group_info", {"identity": "student"}),
    case("学生党能借吗", "group_info", {"identity": "student"}),
    case("我不知道有没有社保", None, slots={}, exact_slots=True, skip=True),
    case("你是不是学生", absent={"identity"}),
    case("个体户可以申请吗", "group_info", {"identity": "business_owner"}),
    case("新用户能开通吗", "group_info", {"identity": "new_user"}),
    case("小微企业主能贷多少", "group_info", {"identity": "business_owner"}),
    case("学生群体可以开通吗", "special_groups"),
    case("要是我是学生能开吗", "group_info", absent={"identity"}),  # hypothetical
    # --- rejection ------------------------------------------------------------------
    case("为啥我开不通", "rejection", {"rejected_before": True}, intents_has={"why"}),
    case(
        "申请失败了，显示综合评分不足",
        "rejection",
        {"rejected_before": True, "rejection_hint": "score_insufficient"},
    ),
    case("綜合評分不足怎麼辦", "rejection", {"rejection_hint": "score_insufficient"}),
    case("综合平分不足", "rejection", {"rejection_hint": "score_insufficient"}),
    case("被拒了怎么办", "rejection", {"rejected_before": True}),
    case(
        "征信查询太多被拒了",
        "rejection",
        {"rejection_hint": "too_many_inquiries", "rejected_before": True},
    ),
    case("查询次数过多没通过", "rejection", {"rejection_hint": "too_many_inquiries"}),
    case("负债太高被拒", "rejection", {"rejection_hint": "other"}),
    case("微粒贷開通不了", "rejection"),
    case("上周被拒了", "rejection", {"rejected_before": True, "rejected_days_ago": 7}),
    case("昨天申请被拒", "rejection", {"rejected_days_ago": 1}),
    case("一个月前被拒的", "rejection", {"rejected_days_ago": 30}),
    case("三天前被拒", "rejection", {"rejected_days_ago": 3}),
    case("两周前申请没通过", "rejection", {"rejected_days_ago": 14}),
    case("去年被拒了", "rejection", {"rejected_days_ago": 365}),
    case("没被拒过", None, {"rejected_before": False}, negated={"rejected_before"}),
    case("第一次申请", None, {"rejected_before": False}),
    case(
        "一个月前被拒，之后查了3次",
        "rejection",
        {"rejected_days_ago": 30, "inquiries_3m": 3},
    ),
    # --- limit raise / rates / risk / after opening ---------------------------
    case("额度太低了怎么提", "limit_raise"),
    case("怎么提高额度", "limit_raise"),
    case("体额有什么技巧", "limit_raise"),  # typo 体额
    case("提额！！！", "limit_raise", scam_patterns=()),
    case("按时还了6期了能提额吗", "limit_raise", {"ontime_periods": 6}),
    case("零钱通有两万，想提额", "limit_raise", {"lingqiantong_balance": 20000}),
    case("利息多少", "rates"),
    case("日利率多少啊", "rates"),
    case("合作银行贷的利率多少", "product_info", products=("partner_bank",), intents_has={"rates"}),
    case("手续费是多少", "rates", scam_patterns=()),  # a fair question, not a scam
    case("额度被冻结了", "risk_control"),
    case("突然降额了", "risk_control"),
    case("额度没了怎么回事", "risk_control"),
    case("微粒贷额度突然没了", "risk_control"),
    case("怎么还款", "uncovered"),  # the article does not say how
    case("逾期了怎么办", "uncovered", absent={"overdue"}),
    case("如果逾期了会怎么样", "uncovered", absent={"overdue"}),
    case("开通后要注意什么", "after_opening"),
    # --- direct questions (handlers/faq.py) ---------------------------------------
    case("微粒贷最低要多少分", "product_info", products=("weilidai",)),
    case("we2000最多借多少", "product_info", products=("we2000",)),
    case("那合作银行贷呢", "product_info", products=("partner_bank",)),
    case("三款产品有什么不同", "product_info", products=()),
    case("微粒贷额度怎么提高", "limit_raise", products=("weilidai",)),  # a plan, not the table
    case("学生额度上限是多少", "group_info", {"identity": "student"}),
    case("个体户最高能贷多少", "group_info", {"identity": "business_owner"}),
    case("学生呢", "group_info", {"identity": "student"}),
    case("上传房产证能提多少", "materials_info", {"materials": ["property"]}),
    case("社保有没有用", "materials_info", {"materials": ["social_security"]}),
    case("企业认证几天生效", "materials_info", {"materials": ["business"]}),
    case("行驶证有用吗", "materials_info", slots={}, exact_slots=True),
    case("A级是什么意思", "risk_grades"),
    case("风险评级有几级", "risk_grades"),
    case("首借有优惠吗", "discount"),
    case("新用户首借利率打几折", "discount", {"identity": "new_user"}),
    case("日利率0.03%年化多少", "rate_conversion", {"daily_rate": Decimal("0.0003")}),
    case("日利率和年化怎么换算", "rate_conversion"),
    case("年化18%日利率多少", "rate_conversion", {"apr": Decimal("0.18")}),
    case("提前还款怎么操作", "uncovered"),
    case("支付分在哪看", "uncovered", slots={}, exact_slots=True),
    case("客服电话多少", "uncovered", no_intent={"human"}),
    case("商家可以在美团里申请吗", "channels"),
    case("美团里能开通吗", "channels"),
    case("开始评估", "eligibility"),
    case("你是机器人吗", "bot_identity"),
    case("回到机器人", "end_handoff"),
    case("我已经把钱转过去了怎么办", "scam_aftermath"),
    case("帮我测测", "eligibility"),
    case("为啥拒我", "rejection"),
    case("为什么我申请不了", "rejection"),
    case("微粒贷为什么不给我开通", "rejection"),
    # --- calculator -------------------------------------------------------------
    case("借1万分12期每月还多少", "calculator", {"amount": 10000, "months": 12}),
    case("算一下月供", "calculator"),
    case("借五千，分6个月", "calculator", {"amount": 5000, "months": 6}),
    case(
        "借2.5万，分24期，年利率18%，每个月还多少",
        "calculator",
        {"amount": 25000, "months": 24, "apr": Decimal("0.18")},
    ),
    case("借一万五分一年", "calculator", {"amount": 15000, "months": 12}),
    case("借3000块分6期", "calculator", {"amount": 3000, "months": 6}),
    case("借两千元", "calculator", {"amount": 2000}),
    case("借2w分3期", "calculator", {"amount": 20000, "months": 3}),
    case("借1万5分半年", "calculator", {"amount": 15000, "months": 6}),
    case("借一两万", "calculator", {"amount": 20000}, ranges={"amount": (10000, 20000)}),
    case("我月收入一万，借5万分12期", "calculator", {"amount": 50000, "months": 12}),
    case("额度5万，想借2万", "calculator", {"amount": 20000}),
    # --- rates as slots ------------------------------------------------------------
    case("年化7.2", "rate_conversion", {"apr": Decimal("0.072")}),
    case("年化7.2%", "rate_conversion", {"apr": Decimal("0.072")}),
    case("利率18%", "rate_conversion", {"apr": Decimal("0.18")}),
    case("年化百分之十八", "rate_conversion", {"apr": Decimal("0.18")}),
    case("月利率1.5%", "rate_conversion", {"apr": Decimal("0.18")}),
    case("日利率0.02%", "rate_conversion", {"daily_rate": Decimal("0.0002")}),
    case("日利率万分之五", "rate_conversion", {"daily_rate": Decimal("0.0005")}),
    case("日息万五", "rate_conversion", {"daily_rate": Decimal("0.0005")}),
    case("日利率0.05", "rate_conversion", {"daily_rate": Decimal("0.0005")}),
    case("年化300%", "rate_conversion", absent={"apr"}),  # implausible: dropped
    # --- banned purposes ------------------------------------------------------------
    case("能用来买房吗", "banned_purpose", {"purpose": "house"}),
    case("想借钱炒股", "banned_purpose", {"purpose": "investment"}),
    case("买基金可以吗", "banned_purpose", {"purpose": "investment"}),
    case("借钱用来买房首付", "banned_purpose", {"purpose": "house"}),
    case("投资理财行不行", "banned_purpose", {"purpose": "investment"}),
    case(
        "不是用来炒股的，买手机用",
        _SKIP_CHECK,
        {"purpose": "consumption"},
        no_intent={"banned_purpose"},
        negated={"purpose"},
    ),
    case("用来进货周转", None, {"purpose": "business"}),
    case("装修用", None, {"purpose": "consumption"}),
    case("想借钱还信用卡", _SKIP_CHECK, {"purpose": "other"}),
    # --- scams ----------------------------------------------------------------------
    case("要先交手续费才能放款", "scam", scam_patterns=("upfront_fee",)),
    case("对方说要交500保证金才能放款", "scam", scam_patterns=("upfront_fee",)),
    case("有人说交解冻费就能解冻", "scam", scam_patterns=("upfront_fee",)),
    case("额度被冻结了，客服说交钱解冻", "scam", scam_patterns=("upfront_fee",)),
    case("有人说可以走内部渠道帮我开通", "scam", scam_patterns=("internal_channel",)),
    case("黑户也能贷吗，包过的那种", "scam", scam_patterns=("internal_channel",)),
    case("有个中介说帮我刷流水提高通过率", "scam", scam_patterns=("fake_flow",)),
    case("客服让我把验证码给他", "scam", scam_patterns=("verification_code",)),
    case("他要我的验证码", "scam", scam_patterns=("verification_code",)),
    case("收不到验证码怎么办", scam_patterns=()),
    case("让我把钱转到安全账户", "scam", scam_patterns=("safe_account",)),
    case("说要转账到指定账户验证还款能力", "scam", scam_patterns=("safe_account",)),
    case(
        "微信官方客服加我好友说能提额",
        "scam",
        scam_patterns=("impersonation",),
        intents_has={"limit_raise"},
    ),
    case("有人冒充客服给我打电话", "scam", scam_patterns=("impersonation",)),
    case("说是要退款理赔", "scam", scam_patterns=("refund",)),
    case("他说我的校园贷要注销不然影响征信", "scam", scam_patterns=("campus_loan_cancel",)),
    case("收到短信说额度提升了点链接领取", "scam", scam_patterns=("phishing_link",)),
    case("下载这个APP就能借到钱", "scam", scam_patterns=("unknown_app",)),
    case("交3000可以帮你修复征信", "scam", scam_patterns=("credit_repair",)),
    case("快递丢了客服说给我退款让我加他", "scam", scam_patterns=("refund",)),
    # 流水 alone is a fair worry, never repaired into 刷流水 (a scam pattern)
    case("我的流水不够会被拒吗", scam_patterns=()),
    case("银行流水不够怎么办", scam_patterns=()),
    case("这个是不是骗子", "scam", scam_patterns=()),
    case(
        "支付分700，对方让我先交2000会员费才能下款",
        "scam",
        {"pay_score": 700},
        scam_patterns=("upfront_fee",),
    ),
    # --- conversation ---------------------------------------------------------------
    case("你好", "greeting"),
    case("讲个笑话", "out_of_scope"),
    case("在吗", "greeting"),
    case("hi", "greeting"),
    case("Hi there", "greeting"),
    case("哈喽~在吗", "greeting"),
    case("你好，我支付分700，能开通吗", "eligibility", {"pay_score": 700}),
    case("帮助", "help"),
    case("?", "help"),
    case("？？", "help"),
    case("你能做什么", "help"),
    case("重新开始", "restart"),
    case("重来", "restart"),
    case("退出", "cancel"),
    case("算了不问了", "cancel"),
    case("我算了一下利息好高", "rates", no_intent={"cancel"}),
    case("谢谢", "thanks"),
    case("多谢啦", "thanks"),
    case("谢谢，那被拒了怎么办", "rejection", intents_has={"thanks"}),
    case("再见", "goodbye"),
    case("拜拜", "goodbye"),
    case("88", "goodbye"),
    case("为什么", "why"),
    case("为啥", "why"),
    case("凭什么", "why"),
    case("更多", "more"),
    case("下一页", "more"),
    case("继续", "more"),
    case("转人工", "human"),
    case("我要找客服", "human"),
    case("1", "menu_choice", choice=1),
    case("2", "menu_choice", choice=2),
    case("三", "menu_choice", choice=3),
    case("选2", "menu_choice", choice=2),
    case("第一个", "menu_choice", choice=1),
    # --- profile facts ------------------------------------------------------------
    case("支付分六百八", None, {"pay_score": 680}),
    case("我支付分650分", None, {"pay_score": 650}),
    case("支付分是700", None, {"pay_score": 700}),
    case("650分", None, {"pay_score": 650}),
    case("微信支付份七百", None, {"pay_score": 700}),  # 支付份 typo
    case("支付份680 能开吗", "eligibility", {"pay_score": 680}),
    case("支付分６５０，查了２次", None, {"pay_score": 650, "inquiries_3m": 2}),  # full width
    case("支 付 分 7 0 0", None, {"pay_score": 700}),  # spaces
    case(
        "支付分大概六百五左右",
        None,
        {"pay_score": 650},
        approximate={"pay_score"},
        ranges={},
    ),
    case("支付分六七百吧", None, {"pay_score": 650}, ranges={"pay_score": (600, 700)}),
    case("支付分才五百多", None, {"pay_score": 550}, ranges={"pay_score": (500, 600)}),
    case("支付分差不多有七百", None, {"pay_score": 700}, approximate={"pay_score"}),
    case("支付分九百", None, absent={"pay_score"}, out_of_range={"pay_score": 900}),
    case("支付分200", None, absent={"pay_score"}, out_of_range={"pay_score": 200}),
    case("没有逾期", None, {"overdue": "none"}, negated={"overdue"}),
    case("从来不逾期", None, {"overdue": "none"}),
    case("以前逾期过，已经还清了", None, {"overdue": "past"}),
    case("逾期过但已还清", None, {"overdue": "past"}),
    case("现在有逾期还没还上", None, {"overdue": "current"}),
    case("正在逾期", None, {"overdue": "current"}),
    case("以前逾期过，现在还有逾期没还", None, {"overdue": "current"}),  # worst wins
    case("逾期会影响征信吗", "uncovered", absent={"overdue"}),
    case("预期能借多少", "eligibility", absent={"overdue"}),  # 预期 is not 逾期
    case("最近三个月查了两次征信", None, {"inquiries_3m": 2}, absent={"pay_history_months"}),
    case("征信查询了5次", None, {"inquiries_3m": 5}),
    case("查了两三次", None, {"inquiries_3m": 3}, ranges={"inquiries_3m": (2, 3)}),
    case("近三个月征信被查了十几次", None, {"inquiries_3m": 19}, ranges={"inquiries_3m": (12, 19)}),
    case("征信查了60次", None, absent={"inquiries_3m"}, out_of_range={"inquiries_3m": 60}),
    case(
        "每周用微信支付四五次", None, {"payments_per_week": 4}, ranges={"payments_per_week": (4, 5)}
    ),
    case("一周付款3次", None, {"payments_per_week": 3}),
    case("每天都用微信支付", None, {"payments_per_week": 7}),
    case("很少用微信支付", None, {"payments_per_week": 1}),
    case("一天用三四次微信支付", None, {"payments_per_week": 21}),
    case("每个月付款二十次左右", None, {"payments_per_week": 5}, approximate={"payments_per_week"}),
    case(
        "每周支付200次",
        None,
        absent={"payments_per_week"},
        out_of_range={"payments_per_week": 200},
    ),
    case("用了两年微信支付", None, {"pay_history_months": 24}),
    case("微信支付用了半年", None, {"pay_history_months": 6}),
    case("微信用了一年半", None, {"pay_history_months": 18}),
    case("我是上班族", None, {"identity": "employee"}),
    case("我在打工", None, {"identity": "employee"}),
    case("我是大学生", None, {"identity": "student"}),
    case("开了个小店，个体户", None, {"identity": "business_owner"}),
    case("刚注册微信的新用户", None, {"identity": "new_user"}),
    case("我不是学生", None, absent={"identity"}, negated={"identity"}),
    case(
        "我已经不是学生了，现在上班",
        None,
        {"identity": "employee"},
        negated_values={"identity": {"student"}},
    ),
    case("有社保和公积金", None, {"materials": ["social_security"]}),
    case("有房产证", None, {"materials": ["property"]}),
    case(
        "有营业执照，也有房产证",
        None,
        {"materials": ["business", "property"]},
    ),
    case("没有社保", None, absent={"materials"}, negated={"materials"}),
    case(
        "没有房",
        None,
        absent={"materials"},
        negated={"materials"},
        negated_values={"materials": {"property"}},
    ),
    case("社保、公积金都没有", None, absent={"materials"}, negated={"materials"}),
    case(
        "有房，但是没社保",
        None,
        {"materials": ["property"]},
        negated_values={"materials": {"social_security"}},
    ),
    case("我有房贷", None, {"materials": ["property"]}, absent={"purpose"}),
    case("零钱通有两万", None, {"lingqiantong_balance": 20000}),
    case("零钱通1.5万", None, {"lingqiantong_balance": 15000}),
    case("零钱通里存了5000块", None, {"lingqiantong_balance": 5000}),
    case("零前通有两万", None, {"lingqiantong_balance": 20000}),  # fuzzy: 前 -> 钱
    case("按时还了6期", None, {"ontime_periods": 6}),
    case("连续还款八个月了", None, {"ontime_periods": 8}),
    case("已经实名了", None, {"real_name_verified": True}),
    case("实名认证过了", None, {"real_name_verified": True}),
    case("没实名", None, {"real_name_verified": False}),
    case("账户正常，支付分700", None, {"account_normal": True, "pay_score": 700}),
    case("开通需要什么条件", "requirements"),
    case("申请条件是什么", "requirements"),
    case("影响额度的因素有哪些", "limit_factors"),
    case("额度怎么评估的", "limit_factors"),
    case("常见被拒原因", "rejection_reasons"),
    case("为什么会被拒", "rejection_reasons"),
    case("正常", None, {"account_normal": True}, expecting="account_normal"),
    case("不正常", None, {"account_normal": False}, expecting="account_normal"),
    case("嗯", None, {"account_normal": True}, expecting="account_normal"),
    case("人脸识别也做了", None, {"face_verified": True}),
    case("没有人脸识别", None, {"face_verified": False}, negated={"face_verified"}),
    case(
        "支付分七百二，没有逾期，最近三个月查了两次征信，我是学生",
        None,
        {"pay_score": 720, "overdue": "none", "inquiries_3m": 2, "identity": "student"},
        exact_slots=True,
    ),
    case(
        "我的支付分700多，最近三个月查询了4次，每周用微信支付5次左右，"
        "用了3年微信支付，有社保，没逾期，想借2万分12期",
        None,  # a profile stated: the dialogue assesses it
        {
            "pay_score": 750,
            "inquiries_3m": 4,
            "payments_per_week": 5,
            "pay_history_months": 36,
            "materials": ["social_security"],
            "overdue": "none",
            "amount": 20000,
            "months": 12,
        },
        exact_slots=True,
    ),
    case("我不是学生，是上班族，支付分680", None, {"identity": "employee", "pay_score": 680}),
    # mid-conversation change of subject: a profile fact, then a question
    case("对了我有公积金，利息怎么算", "rates", {"materials": ["social_security"]}),
    case("上班族，被拒了为什么", "rejection", {"identity": "employee"}),
    case("我有逾期记录", None, {"overdue": "past"}),
    case("信用卡逾期还没还", None, {"overdue": "current"}),
    case("没房没车", None, absent={"materials"}, negated_values={"materials": {"property"}}),
    case("为什么额度这么低", "limit_factors"),  # what the limit rests on
    case("需要多久审核", "channels"),
    case("逾期一天会怎样", "uncovered", absent={"overdue"}),
    # --- must not match ------------------------------------------------------
    case("我还没还款", absent={"overdue"}),
    case("我22岁", slots={}, exact_slots=True),
    case("借一万，三个月后能提额吗", "limit_raise", {"amount": 10000}, absent={"months"}),
    case("每月10号还款", "uncovered", absent={"payments_per_week"}),
    case("我的额度是3万，怎么提到5万", "limit_raise", absent={"amount"}),
    case("月薪八千", absent={"amount"}),
    case("支付宝花呗", absent={"pay_score"}),
    case("我是2000年出生的", absent={"pay_history_months", "amount"}),
    case("下午3点还款", absent={"months", "amount"}),
    case("我想一次性还清", "uncovered", slots={}, exact_slots=True),
    case("我是学生", None, {"identity": "student"}, no_intent={"special_groups"}),
    # --- bare answers against `expecting` ----------------------------------------
    case("六百八", None, {"pay_score": 680}, expecting="pay_score"),
    case("七百二", None, {"pay_score": 720}, expecting="pay_score"),
    case("650左右", None, {"pay_score": 650}, expecting="pay_score", approximate={"pay_score"}),
    case(
        "六七百",
        None,
        {"pay_score": 650},
        expecting="pay_score",
        ranges={"pay_score": (600, 700)},
    ),
    case("九百", None, expecting="pay_score", out_of_range={"pay_score": 900}),
    case("没有", None, expecting="pay_score", negated={"pay_score"}, yes_no=False),
    case("2", None, expecting="pay_score", choice=None, out_of_range={"pay_score": 2}),
    case("两次", None, {"inquiries_3m": 2}, expecting="inquiries_3m"),
    case(
        "两三次",
        None,
        {"inquiries_3m": 3},
        expecting="inquiries_3m",
        ranges={"inquiries_3m": (2, 3)},
    ),
    case("5", None, {"inquiries_3m": 5}, expecting="inquiries_3m", choice=None),
    case("没有", None, {"inquiries_3m": 0}, expecting="inquiries_3m"),
    case("没查过", None, {"inquiries_3m": 0}, expecting="inquiries_3m"),
    case("没有", None, {"overdue": "none"}, expecting="overdue"),
    case("有过", None, {"overdue": "past"}, expecting="overdue"),
    case("现在还有", None, {"overdue": "current"}, expecting="overdue"),
    case("有", None, expecting="overdue", absent={"overdue"}, yes_no=True),
    case("是的", None, {"real_name_verified": True}, expecting="real_name_verified"),
    case("嗯", None, {"face_verified": True}, expecting="face_verified"),
    case("对", None, {"rejected_before": True}, expecting="rejected_before"),
    case("有", None, {"rejected_before": True}, expecting="rejected_before"),
    case("没有", None, {"real_name_verified": False}, expecting="real_name_verified"),
    case("不是", None, {"face_verified": False}, expecting="face_verified"),
    case("否", None, {"rejected_before": False}, expecting="rejected_before"),
    case("ok", None, {"real_name_verified": True}, expecting="real_name_verified"),
    case("YES", None, {"face_verified": True}, expecting="face_verified"),
    case("No.", None, {"rejected_before": False}, expecting="rejected_before"),
    case("好的👍", None, {"real_name_verified": True}, expecting="real_name_verified"),
    case("嗯嗯，已经实名了", None, {"real_name_verified": True}, expecting="real_name_verified"),
    case(
        "对，上周被拒了",
        "rejection",
        {"rejected_before": True, "rejected_days_ago": 7},
        expecting="rejected_before",
        yes_no=True,
    ),
    case("不知道", None, expecting="pay_score", skip=True, slots={}, exact_slots=True),
    case("不清楚", None, expecting="inquiries_3m", skip=True),
    case("跳过", None, expecting="overdue", skip=True),
    case("不记得了", None, expecting="payments_per_week", skip=True),
    case("不知道怎么开通", "eligibility", skip=False),
    case(
        "四五次",
        None,
        {"payments_per_week": 4},
        expecting="payments_per_week",
        ranges={"payments_per_week": (4, 5)},
    ),
    case("每天都用", None, {"payments_per_week": 7}, expecting="payments_per_week"),
    case("两年", None, {"pay_history_months": 24}, expecting="pay_history_months"),
    case("半年", None, {"pay_history_months": 6}, expecting="pay_history_months"),
    case("三个月", None, {"pay_history_months": 3}, expecting="pay_history_months"),
    case(
        "两万",
        None,
        {"lingqiantong_balance": 20000},
        expecting="lingqiantong_balance",
        absent={"amount"},
    ),
    case("1.5万", None, {"lingqiantong_balance": 15000}, expecting="lingqiantong_balance"),
    case("6期", None, {"ontime_periods": 6}, expecting="ontime_periods", absent={"months"}),
    case("五千", "calculator", {"amount": 5000}, expecting="amount"),
    case("一年", "calculator", {"months": 12}, expecting="months"),
    case("24", "calculator", {"months": 24}, expecting="months", choice=None),
    case("18%", None, {"apr": Decimal("0.18")}, expecting="apr"),
    case("7.2", None, {"apr": Decimal("0.072")}, expecting="apr"),
    case("万分之五", None, {"daily_rate": Decimal("0.0005")}, expecting="daily_rate"),
    case("三天前", None, {"rejected_days_ago": 3}, expecting="rejected_days_ago"),
    case("上周", None, {"rejected_days_ago": 7}, expecting="rejected_days_ago"),
    case("上班的", None, {"identity": "employee"}, expecting="identity"),
    case("没有", None, expecting="materials", negated={"materials"}, absent={"materials"}),
    # conversation control of the answer-first dialogue
    case("刚才说错了，应该是710", "correction"),
    case("打错了是六百八", "correction"),
    case("直接说结果吧", "impatient"),
    case("别问了，到底能不能开", "impatient"),
    case("不用问那么多了", "impatient"),
    case("详细评估一下", "detailed"),
    case("继续问吧", "detailed"),
    case("上次的评估结果呢", "last_result"),
    case("我上次测的结果", "last_result"),
    case("开始评估", "eligibility"),
    case("帮我测测", "eligibility"),
    # the numbered options of the question asked ("1 没有 2 以前有 3 现在有"), not the menu
    case("2", None, {"overdue": "past"}, expecting="overdue", choice=None),
    case("3", None, {"overdue": "current"}, expecting="overdue", choice=None),
    case("2", None, {"identity": "student"}, expecting="identity", choice=None),
    case("1", None, {"rejection_hint": "score_insufficient"}, expecting="rejection_hint"),
    case("5", "menu_choice", expecting="identity", choice=5),  # no 5th option: a menu number
    # vague frequencies: "好几" is more than a couple (at least the article's 3 a week)
    case("每周都用好几次", None, {"payments_per_week": 3}),
    case("好几次", None, {"payments_per_week": 3}, expecting="payments_per_week"),
    case("最近查了好几次征信", None, {"inquiries_3m": 4}),
    case("天天都用", None, {"payments_per_week": 7}),
    case("我想问一下利率", "rates", expecting="pay_score", absent={"pay_score"}),
    # --- slot phrasings: the words people use, and the questions that state nothing -------
    # a denied late payment or debt is no overdue
    case("还款从来没晚过", slots={"overdue": "none"}),
    case("我从来不欠钱的", slots={"overdue": "none"}),
    case("从没拖过 还款都很准时", slots={"overdue": "none"}),
    # jobs, schools, shops and newcomers by their everyday names
    case("我是小学老师", slots={"identity": "employee"}),
    case("送快递的 支付分六百五", slots={"identity": "employee", "pay_score": 650}),
    case("大专生能借吗", slots={"identity": "student"}),
    case("学僧可以开通吗", slots={"identity": "student"}),
    case("我开小饭馆的", slots={"identity": "business_owner"}),
    case("个提户能贷多少", slots={"identity": "business_owner"}),
    case("新人首借打几折", slots={"identity": "new_user"}),
    # a criterion, a change or a scam's threat names no one's identity
    case("必须有工作才能申请吗", absent={"identity"}),
    case("额度会看学历工作这些吗", absent={"identity"}),
    case("是不是因为我换工作了", absent={"identity"}),
    case("非上班族能开吗", absent={"identity"}),
    case("对方说要注销我的学生贷款", absent={"identity"}),
    # a count of payments needs a payment habit, not a fee paid twice
    case("付了两次解冻费还没到账", absent={"payments_per_week"}),
    case("每周付了三次", slots={"payments_per_week": 3}),
    # inquiries: none said with 一次, loans are no inquiries, a reported hint is no count
    case("征信一次没查过", slots={"inquiries_3m": 0}),
    case("网贷有三笔逾期没还", slots={"overdue": "current"}, absent={"inquiries_3m"}),
    case(
        "上周被拒了 说查询太多",
        slots={"rejection_hint": "too_many_inquiries"},
        absent={"inquiries_3m"},
    ),
    # a requirement, a pledge or a price asked about owns no material
    case("开通一定要有社保吗", absent={"materials"}),
    case("要上传营业执照吗", absent={"materials"}),
    case("需不需要抵押房子", absent={"materials"}),
    case("房价会涨吗", absent={"materials"}),
    case("借的钱能付房子首付吗", slots={"purpose": "house"}, absent={"materials"}),
    # a month's repayment or a year's interest asked about is no loan term
    case("两万块三年还完 一个月要还多少", slots={"amount": 20000, "months": 36}),
    case(
        "日息万五一年下来多少",
        slots={"daily_rate": Decimal("0.0005")},
        absent={"months"},
    ),
    case("分享一首歌给你", absent={"months"}),
    # money charged, sent or granted is no loan amount (nor a bare pay score)
    case("帮做流水 收费600", absent={"pay_score", "amount"}),
    case("给他汇了五千", absent={"amount"}),
    case("系统给我批了三千", absent={"amount"}),
    case("一万不够用 能多批点吗", absent={"amount"}),
    case("合作银行贷起步就五万吗", absent={"amount"}),
    # --- slot phrasings, second round: stories and questions that state no fact -----
    # someone else's hours or papers, a job a scammer dresses up, a scam's student account
    case("人工客服几点上班啊", absent={"identity"}),
    case("对方发了张工作证给我看", absent={"identity"}),
    case("中介说能把工作和收入包装一下", absent={"identity"}),
    case("有人说我的学生账号要注销", absent={"identity"}),
    case("我是上班族", slots={"identity": "employee"}),
    # a fee's name, a house to buy, a material asked about or unknown
    case("说要交财产证明金才能放款", absent={"materials"}),
    case("贷款能买新房吗", absent={"materials"}),
    case("我有套新房", slots={"materials": ["property"]}),
    case("个体户借款需要营业执照吗", slots={"identity": "business_owner"}, absent={"materials"}),
    case("公积金不知道有没有交", absent={"materials"}),
    # money advanced, handed over, missing or overpaid; a service number; 能借几千 asked
    case("已经垫进去三万了", absent={"amount"}),
    case("先给了他八千", absent={"amount"}),
    case("他说还差两千才能放款", absent={"amount"}),
    case("卡里少了五千块", absent={"amount"}),
    case("这个月多还了两百", absent={"amount"}),
    case("事成之后分我八百", absent={"amount", "pay_score"}),
    case("他说给我五百 帮他收个款", absent={"amount", "pay_score"}),
    case("刷单一单返八百", absent={"amount", "pay_score"}),
    case("能给我借两万吗", slots={"amount": 20000}),
    case("12306怎么买票", absent={"amount"}),
    case("我这样能借几万", absent={"amount"}),
    case("我想借几千", slots={"amount": 9000}),
    # instalments unpaid are a current overdue, not a loan term
    case("信用卡还有三期没还", slots={"overdue": "current"}, absent={"months"}),
    # a certificate, a record to delete, on-time repayment as a condition: no overdue
    case("银行能开无逾期证明吗", absent={"overdue"}),
    case("能帮我删除逾期记录吗", absent={"overdue"}),
    case("一直按时还能提额吗", absent={"overdue"}),
    case("是不是按时还款就行", absent={"overdue"}),
    case("我一直按时还", slots={"overdue": "none"}),
    # loans listed on the report are no inquiries
    case("征信上有一笔贷款我不认识", absent={"inquiries_3m"}),
    case("征信查了一次", slots={"inquiries_3m": 1}),
    # how often asked, repayments counted, collection calls: no payment habit
    case("微信支付多久付一次算活跃", absent={"payments_per_week"}),
    case("一个月能还两次吗", absent={"payments_per_week"}),
    case("催收电话每天打好几个", absent={"payments_per_week"}),
    # a school year is no loan term
    case("孩子上五年级了", absent={"months"}),
]


@pytest.fixture(scope="module")
def nlu() -> Understander:
    return Understander()


def _check(
    u: Understanding, intent: object, slots: dict[str, object], checks: dict[str, Any]
) -> None:
    if intent is None:
        assert u.intents == (), u
    elif intent is not _SKIP_CHECK:
        assert u.intent == intent, u
    for name, want in slots.items():
        assert name in u.slots, (name, u)
        assert u.slots[name] == want, (name, u)
        assert type(u.slots[name]) is type(want), (name, u)
    if checks.get("exact_slots"):
        assert set(u.slots) == set(slots), u
    for name in checks.get("absent", ()):
        assert name not in u.slots, (name, u)
    if "negated" in checks:
        assert set(checks["negated"]) <= u.negated, u
    if "negated_values" in checks:
        for slot, values in checks["negated_values"].items():
            assert set(values) <= u.negated_values.get(slot, frozenset()), u
    if "ranges" in checks:
        assert dict(u.ranges) == checks["ranges"], u
    if "approximate" in checks:
        assert set(checks["approximate"]) <= u.approximate, u
    if "out_of_range" in checks:
        assert dict(u.out_of_range) == checks["out_of_range"], u
    if "scam_patterns" in checks:
        assert u.scam_patterns == tuple(checks["scam_patterns"]), u
    for key in ("yes_no", "skip", "choice", "products"):
        if key in checks:
            assert getattr(u, key) == checks[key], (key, u)
    for name in checks.get("intents_has", ()):
        assert name in u.intents, (name, u)
    for name in checks.get("no_intent", ()):
        assert name not in u.intents, (name, u)


@pytest.mark.parametrize(("text", "expecting", "intent", "slots", "checks"), CASES)
def test_utterance(
    nlu: Understander,
    text: str,
    expecting: str | None,
    intent: object,
    slots: dict[str, object],
    checks: dict[str, Any],
) -> None:
    u = nlu.understand(text, expecting)
    try:
        _check(u, intent, slots, checks)
    except AssertionError as exc:
        raise AssertionError(f"{text!r} (expecting={expecting}): {exc}") from None


# --- the table itself must keep covering the whole contract --------------------


def _rows() -> list[tuple[Any, ...]]:
    return [tuple(p.values) for p in CASES]


def test_table_has_at_least_100_utterances() -> None:
    assert len(CASES) >= 100


def test_table_covers_every_intent_as_first_intent() -> None:
    firsts = {intent for _, _, intent, _, _ in _rows()}
    assert set(INTENT_IDS) <= firsts, set(INTENT_IDS) - firsts


def test_table_covers_every_slot() -> None:
    seen = {name for _, _, _, slots, _ in _rows() for name in slots}
    assert set(SLOT_NAMES) <= seen, set(SLOT_NAMES) - seen


def test_table_covers_every_scam_pattern() -> None:
    seen = {p for *_, checks in _rows() for p in checks.get("scam_patterns", ())}
    assert set(SCAM_PATTERN_IDS) <= seen, set(SCAM_PATTERN_IDS) - seen


def test_scam_is_always_first_when_a_pattern_is_seen(nlu: Understander) -> None:
    for text in (
        "我想提额，对方说先交保证金",
        "你好，客服让我把验证码发给他",
        "利息多少？要转到安全账户吗",
    ):
        u = nlu.understand(text)
        assert u.scam_patterns and u.intents[0] == "scam", u


def test_check_helper_can_fail(nlu: Understander) -> None:
    """Guard against a vacuous table: a wrong expectation must be caught."""
    with pytest.raises(AssertionError):
        _check(nlu.understand("支付分六百八"), None, {"pay_score": 681}, {})
    with pytest.raises(AssertionError):
        _check(nlu.understand("提额"), "scam", {}, {})
