"""Scam scripts and their aftermath, as users and scam SMS write them, and the fair questions
that use the same words (提额, 注销, 退款, 流水, 验证码) and must stay what they are.

Each row is one message with what the understander must make of it:

* ``scam(text, *patterns)``: a warning; these pattern ids are among the ones seen and
  nothing says the money is already gone.
* ``gone(text)``: the user already paid, sent or shared (``scam_aftermath``).
* ``fair(text, intent)``: no scam pattern, no scam intent, no aftermath; ``intent``, when
  given, is the ordinary reading that must survive (among the intents: the ranking of the
  other intents is not this table's business).

The whole-dialogue side (which template answers, the 零钱通 exception) is in
test_handler_fraud.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from wxloan.handlers.nlu import SCAM_PATTERN_IDS, Understander, Understanding

AFTERMATH = "scam_aftermath"


def scam(text: str, *patterns: str) -> Any:
    return pytest.param(text, "scam", patterns, None, id=f"scam|{text[:14]}")


def gone(text: str) -> Any:
    return pytest.param(text, "gone", (), None, id=f"gone|{text[:14]}")


def fair(text: str, intent: str | None = None) -> Any:
    return pytest.param(text, "fair", (), intent, id=f"fair|{text[:14]}")


ROWS = [
    # --- phishing links: an SMS or a chat link announcing a raise, a refund, a prize ----
    scam("收到条短信说我的微粒贷额度已提升到5万，让我点链接领取", "phishing_link"),
    scam("【微粒贷】尊敬的用户，您的信用额度已提升至80000元，请于24小时内登录 wld-vip.cn 链接激活",
         "phishing_link"),
    scam("您的微粒贷账户存在异常，额度即将冻结，请点击 http://wld-kf.cc 处理", "phishing_link"),
    scam("有人在群里发了个网址，说填银行卡号就能领额度", "phishing_link"),
    scam("这个提额链接能点吗", "phishing_link"),
    scam("【微信支付】您有一笔退款待领取，点击 https://wxpay-refund.top 填写信息", "phishing_link"),
    fair("提额入口在哪里", "channels"),
    fair("有没有官方的提额链接", "limit_raise"),
    fair("提额链接在哪里找"),
    fair("微粒贷额度提升了，能马上用吗"),
    fair("收不到短信验证码"),
    # --- an app to download before the loan -------------------------------------------
    scam("对方让我下载一个叫XX金融的app，说下载了就能借五万", "unknown_app"),
    scam("贷款中介发来一个安装包，装上才能放款", "unknown_app"),
    scam("客服叫我装个app审核额度", "unknown_app"),
    scam("急用钱？下载闪电贷APP，无视征信，秒到账", "unknown_app", "internal_channel"),
    fair("微粒贷需要下载app吗"),
    fair("下个月能借钱吗"),
    fair("下载微信最新版能看到微粒贷吗"),
    # --- paying to "repair" a credit report -------------------------------------------
    scam("有家公司说能帮我把逾期记录删掉，收费三千", "credit_repair"),
    scam("专业征信修复，逾期、呆账、查询过多均可处理，不成功不收费", "credit_repair"),
    scam("中介说交3000块钱能洗白征信", "credit_repair"),
    scam("能不能花钱删除逾期记录", "credit_repair"),
    scam("网上有人说可以内部消除不良记录", "credit_repair"),
    fair("逾期记录多久才能消除"),
    fair("征信花了怎么办", "rejection"),
    fair("以前逾期过，现在还清了，征信多久能变好"),
    fair("怎么修复我的信用"),
    # --- "your campus loan must be cancelled" -----------------------------------------
    scam("有人打电话说我大学时开过校园贷，现在要注销，不然征信会有污点", "campus_loan_cancel"),
    scam("您好，您大学期间注册过校园贷账户，按规定需要注销，否则影响个人征信", "campus_loan_cancel"),
    scam("对方说我的学生账户没注销，要配合关闭", "campus_loan_cancel"),
    scam("京东客服来电说要帮我注销校园贷", "campus_loan_cancel", "impersonation"),
    fair("微粒贷怎么注销"),
    fair("注销微粒贷会影响征信吗"),
    fair("学生可以开通微粒贷吗", "special_groups"),
    fair("毕业了学生额度会取消吗"),
    # --- fake refunds and claims ------------------------------------------------------
    scam("快递丢了，对方说理赔要先在微粒贷借出来再转给他", "refund"),
    scam("他说我误开通了会员，每个月扣费，要关闭得先转钱", "refund"),
    scam("退款客服让我扫码", "refund"),
    scam("您好我是快递客服，您的包裹丢失，我们将进行双倍理赔，请添加客服微信", "refund"),
    fair("退款到账了吗"),
    fair("美团上用微粒贷买的东西退货了，钱会退到哪"),
    fair("申请退款要多久"),
    # --- proof-of-funds deposits and faked statements ---------------------------------
    scam("中介让我先往卡里转两万验资，说过几天原路退回", "fake_flow"),
    scam("对方说我流水不够，要我转一笔钱进来刷一下", "fake_flow"),
    scam("帮别人走账能提额吗", "fake_flow"),
    scam("说要证明还款能力，先存入5000到我自己卡里", "fake_flow"),
    fair("微信支付流水对额度影响大吗"),
    fair("我的流水不够会被拒吗"),  # 的流水 is kept from being repaired into 刷流水 ([fuzzy] keep)
    # --- fake staff calls ---------------------------------------------------------------
    scam("有个自称微粒贷工作人员的给我打电话说我额度被冻结", "impersonation"),
    scam("一个陌生号码打来，说是微众银行的客服经理", "impersonation"),
    scam("对方声称是公安局的，说我涉嫌洗钱", "impersonation"),
    scam("有人加我微信说他是微众的专员，可以帮我提额", "impersonation"),
    scam("淘宝客服打电话说我买的衣服有质量问题，要给我退款", "impersonation"),
    fair("微粒贷客服电话是多少"),
    fair("我想联系微粒贷的工作人员"),
    # --- the warning, before anything was lost ------------------------------------------
    scam("他让我先交保证金，我还没转", "upfront_fee"),
    scam("他让我把钱打过去，说马上放款", "upfront_fee"),
    scam("对方要我把收到的验证码发给他", "verification_code"),
    scam("让我把钱转到他给的安全账户", "safe_account"),
    scam("差点被骗了，还好没给"),
    # --- already paid, sent or shared -----------------------------------------------------
    gone("我是不是被骗了"),  # something already happened: what to do now, first
    gone("我已经转过去三千了，还能追回来吗"),
    gone("刚刚把短信验证码告诉了那个客服"),
    gone("完了，钱已经打过去了"),
    gone("保证金交了两千还是没放款"),
    gone("我按他说的开了屏幕共享"),
    gone("被骗了五千块，怎么办啊"),
    gone("我点了短信里的链接还填了银行卡号"),
    gone("解冻费已经交了，他又要我交税"),
    gone("上当了，他把我拉黑了"),
    gone("已经给他转了8000"),
    gone("我把验证码念给他了"),
    gone("我刚才按他说的在微粒贷借了2万转给他了"),
    gone("验证码也给了，现在怎么办"),
    gone("钱被骗了"),
    # --- the same verbs in ordinary life ----------------------------------------------------
    fair("我已经还款了"),
    fair("我已经转账还款了，怎么还显示没还"),
    fair("借的钱能马上放款吗"),
    fair("已经交了五年社保"),
    fair("验证码一直收不到"),
    fair("我已经开通微粒贷了"),
    fair("钱已经到账了"),
    fair("我转了一万到零钱通能提额吗", "limit_raise"),
    fair("微粒贷怎么还款"),
    fair("提额", "limit_raise"),
]


@pytest.fixture(scope="module")
def nlu() -> Understander:
    return Understander()


def _check(u: Understanding, kind: str, patterns: tuple[str, ...], intent: str | None) -> None:
    if kind == "scam":
        assert u.intent == "scam", u
        assert set(patterns) <= set(u.scam_patterns), u
        assert AFTERMATH not in u.intents, u
    elif kind == "gone":
        assert AFTERMATH in u.intents, u
    else:
        assert u.scam_patterns == (), u
        assert "scam" not in u.intents and AFTERMATH not in u.intents, u
        if intent is not None:
            assert intent in u.intents, u


@pytest.mark.parametrize(("text", "kind", "patterns", "intent"), ROWS)
def test_message(
    nlu: Understander, text: str, kind: str, patterns: tuple[str, ...], intent: str | None
) -> None:
    _check(nlu.understand(text), kind, patterns, intent)


def test_the_table_is_large_and_goes_both_ways() -> None:
    kinds = [p.values[1] for p in ROWS]
    assert len(ROWS) >= 40
    assert kinds.count("scam") >= 15 and kinds.count("gone") >= 10 and kinds.count("fair") >= 15


def test_every_pattern_is_seen_by_some_row() -> None:
    seen = {p for row in ROWS for p in row.values[2]}
    assert seen == set(SCAM_PATTERN_IDS), set(SCAM_PATTERN_IDS) - seen


def test_the_aftermath_outranks_unrelated_intents(nlu: Understander) -> None:
    """Fees, loans and amounts in the same message do not push the aftermath down."""
    for text in ("保证金交了两千还是没放款", "我已经转过去三千了，还能重新申请吗"):
        u = nlu.understand(text)
        assert u.intents[0] == AFTERMATH, u


def test_the_checker_can_fail(nlu: Understander) -> None:
    """Guard against a vacuous table: each kind of row rejects the wrong reading."""
    with pytest.raises(AssertionError):
        _check(nlu.understand("微粒贷怎么还款"), "scam", (), None)
    with pytest.raises(AssertionError):
        _check(nlu.understand("他让我先交保证金"), "gone", (), None)
    with pytest.raises(AssertionError):
        _check(nlu.understand("钱被骗了"), "fair", (), None)
    with pytest.raises(AssertionError):
        _check(nlu.understand("收到短信说额度已提升，点链接领取"), "scam", ("refund",), None)


# --- the pair lookup is an index: it must find what a plain search finds ----------------------


def _naive_pairs(lexicon: Any, text: str) -> set[str]:
    """Every pair checked word by word, the obvious way (the detector's reference)."""

    def spans(words: tuple[str, ...]) -> list[tuple[int, int]]:
        return [(i, i + len(w)) for w in words for i in range(len(text)) if text.startswith(w, i)]

    found = set()
    for scam_spec in lexicon.scams:
        for pair in scam_spec.pairs:
            for sa, ea in spans(pair.a):
                for sb, eb in spans(pair.b):
                    if max(sb - ea, sa - eb, 0) <= pair.window:
                        found.add(scam_spec.id)
    return found


def test_the_pair_index_finds_what_a_plain_search_finds(nlu: Understander) -> None:
    import random

    from wxloan.handlers.nlu.scam import ScamDetector

    lexicon = nlu.lexicon
    detector = ScamDetector(lexicon)
    words = [w for s in lexicon.scams for p in s.pairs for w in (*p.a, *p.b)]
    filler = "的了我他说要钱卡一二三abc，。"
    rnd = random.Random(12)
    texts = [p.values[0] for p in ROWS]
    for _ in range(3000):
        parts = [
            rnd.choice(words) if rnd.random() < 0.5
            else "".join(rnd.choice(filler) for _ in range(rnd.randint(0, 14)))
            for _ in range(rnd.randint(1, 5))
        ]
        texts.append("".join(parts))
    hits = 0
    for text in texts:
        got = set(detector.detect(text, ()))
        assert got == _naive_pairs(lexicon, text), text
        hits += bool(got)
    assert hits > 200  # the random texts do exercise the pairs (about one in ten hits)
