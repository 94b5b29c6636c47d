"""Every figure in the data equals the seed article's, parsed from the article itself.

A wrong number in a TOML file (or a figure the article does not contain) fails here.
The tests skip when the seed article is not present.
"""

from __future__ import annotations

import re
from dataclasses import fields, is_dataclass
from decimal import Decimal

from wxloan.knowledge import KnowledgeBase

_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


def _numbers(text: str) -> list[Decimal]:
    return [Decimal(m.replace(",", "")) for m in _NUMBER.findall(text)]


def _table_rows(article: str, first_cells: set[str]) -> dict[str, list[str]]:
    """Rows of the article's pipe tables whose first cell is one of ``first_cells``."""
    rows: dict[str, list[str]] = {}
    for line in article.splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) >= 4 and cells[0] in first_cells:
            rows[cells[0]] = cells[1:]
    assert set(rows) == first_cells, f"table rows not found: {first_cells - set(rows)}"
    return rows


def test_products_table_matches_article(kb: KnowledgeBase, article: str) -> None:
    rows = _table_rows(article, {p.name for p in kb.products})
    for product in kb.products:
        score, limits, aprs = rows[product.name][:3]
        assert _numbers(score) == [product.min_pay_score], product.key
        assert _numbers(limits) == [product.limit_min, product.limit_max], product.key
        assert _numbers(aprs) == [product.apr_min, product.apr_max], product.key


def test_channels_table_matches_article(kb: KnowledgeBase, article: str) -> None:
    rows = _table_rows(article, {c.name for c in kb.channels})
    for channel in kb.channels:
        duration, pass_rate, error = rows[channel.name][:3]
        if channel.instant:
            assert duration == "即时审批"
            assert (channel.review_minutes_min, channel.review_minutes_max) == (0, 0)
        else:
            expected = [channel.review_minutes_min, channel.review_minutes_max]
            assert _numbers(duration) == expected, channel.key
        assert _numbers(pass_rate) == [channel.pass_rate_pct], channel.key
        assert error.startswith("±")
        assert _numbers(error) == [channel.limit_error_pct], channel.key


def test_channel_paths_match_article(kb: KnowledgeBase, article: str) -> None:
    assert '路径为"我-服务-金融理财"' in article
    assert kb.channel("wallet").path == "我-服务-金融理财"
    assert kb.channel("mini_program").feature in article
    assert kb.channel("wallet").feature in article


def test_materials_table_matches_article(kb: KnowledgeBase, article: str) -> None:
    rows = _table_rows(article, {m.name for m in kb.materials})
    for info in kb.materials:
        probability, increase, days = rows[info.name][:3]
        assert _numbers(probability) == [info.probability_pct], info.name
        assert _numbers(increase) == [info.avg_increase_pct], info.name
        assert "工作日" in days
        assert _numbers(days) == [info.effective_working_days], info.name


def test_pricing_tiers_match_article(kb: KnowledgeBase, article: str) -> None:
    pattern = re.compile(r"(\S+客户)\(支付分(\d+)(?:\+|-(\d+))\):年化([\d.]+)%-([\d.]+)%")
    found = {m[0]: m for m in pattern.findall(article)}
    assert len(found) == len(kb.tiers) == 3
    for tier in kb.tiers:
        label, low, high, apr_min, apr_max = found[tier.label]
        assert tier.min_pay_score == int(low)
        assert tier.max_pay_score == (int(high) if high else None)
        assert (tier.apr_min, tier.apr_max) == (Decimal(apr_min), Decimal(apr_max))


def test_factor_weights_match_article(kb: KnowledgeBase, article: str) -> None:
    weights = {name: int(w) for name, w in re.findall(r"- (\S+?)\(权重(\d+)%\)", article)}
    assert len(weights) == len(kb.factors) == 4
    for factor in kb.factors:
        name = kb.entry(factor.id).text.split("(")[0]
        assert weights[name] == factor.weight_pct


def _article_figure(article: str, pattern: str) -> list[Decimal]:
    match = re.search(pattern, article)
    assert match, f"pattern not in article: {pattern}"
    return [Decimal(g) for g in match.groups()]


def test_single_figures_match_article(kb: KnowledgeBase, article: str) -> None:
    rules = kb.rules
    student = kb.group(kb.groups[0].identity)
    assert student is not None
    checks: list[tuple[str, list[int | Decimal]]] = [
        (
            r"不同产品年化利率区间从([\d.]+)%至(\d+)%",
            [rules.overall_apr.apr_min, rules.overall_apr.apr_max],
        ),
        (r"近(\d+)个月微信支付交易频次", [rules.pay_history_months.value]),
        (
            r"支付分(\d+)分以上用户开通成功率提升(\d+)%",
            [rules.score_boost.pay_score, rules.score_boost.success_rate_increase_pct],
        ),
        (r"审批通过率存在(\d+)%以上的波动", [rules.channel_spread_pct.value]),
        (r"包含(\d+)\+个变量", [rules.model_variables.value]),
        (r"平均额度提升幅度达(\d+)%", [rules.supplement_increase_pct.value]),
        (r"连续(\d+)天未登录", [rules.inactivity_days.value]),
        (r"A级用户:可享受临时额度上浮(\d+)%", [kb.grades[0].limit_change_pct or 0]),
        (r"首借利率可下浮(\d+)%", [rules.first_loan_discount_pct.value]),
        (r"学信网验证,限额(\d+)元", [kb.groups[0].limit_cap or 0]),
        (r"建议间隔(\d+)个月再申请", [rules.inquiry_wait_months.value]),
        (r"每周至少(\d+)次支付行为", [rules.min_payments_per_week.value]),
        (r"二次申请通过率提升(\d+)%", [rules.payment_effect_pct.value]),
        (r"补充信用资料:通过率提升(\d+)%", [rules.materials_effect_pct.value]),
        (r"(\d+)天后通过率恢复至基准水平", [rules.cooling_days.value]),
        (r"连续(\d+)期无逾期", [rules.ontime_periods.value]),
        (r"年均增长率达(\d+)%", [rules.annual_growth_pct.value]),
    ]
    for pattern, expected in checks:
        assert _article_figure(article, pattern) == [Decimal(v) for v in expected], pattern
    # figures the article writes in 万
    assert _article_figure(article, r"最高可贷(\d+)万") == [
        Decimal(kb.groups[1].limit_cap or 0) / 10000
    ]
    threshold = _article_figure(article, r"零钱通存款超(\d+)万元")
    assert threshold == [Decimal(rules.lingqiantong_threshold_yuan.value) / 10000]


def test_group_order_assumed_by_figure_test(kb: KnowledgeBase) -> None:
    assert [g.identity.value for g in kb.groups] == ["student", "business_owner", "new_user"]


def _kb_figures(kb: KnowledgeBase) -> set[Decimal]:
    """Every number held in the structured data (not in entry texts)."""
    records: list[object] = [
        *kb.products,
        *kb.channels,
        *kb.factors,
        *kb.materials,
        *kb.tiers,
        *kb.grades,
        *kb.groups,
    ]
    records += [getattr(kb.rules, f.name) for f in fields(kb.rules)]
    values: set[Decimal] = set()
    for record in records:
        assert is_dataclass(record)
        for field in fields(record):
            value = getattr(record, field.name)
            if isinstance(value, int | Decimal) and not isinstance(value, bool):
                values.add(Decimal(value))
    return values


def _normalised(text: str) -> list[Decimal]:
    """Numbers in article text, with 万 expanded (50万 → 500000, 1万 → 10000)."""
    numbers = []
    for match in re.finditer(r"(\d[\d,]*(?:\.\d+)?)(万?)", text):
        value = Decimal(match[1].replace(",", ""))
        numbers.append(value * 10000 if match[2] else value)
    return numbers


def test_every_number_in_the_article_is_in_the_data(kb: KnowledgeBase, article: str) -> None:
    body = article.split("\n", 1)[1]  # the title has no figures
    missing = sorted(set(_normalised(body)) - _kb_figures(kb))
    assert not missing, f"article figures not held as data: {missing}"


def test_every_number_in_entry_texts_is_from_the_article(kb: KnowledgeBase, article: str) -> None:
    article_numbers = set(_normalised(article))
    for entry in kb.entries.values():
        extra = set(_normalised(entry.text)) - article_numbers
        assert not extra, f"{entry.id}: numbers not in the article: {extra}"


def test_fact_texts_quote_the_article(kb: KnowledgeBase, article: str) -> None:
    """Entry texts quote the article clause by clause.

    Table rows (``|``) are paraphrased, and so is anything after a full-width
    "；" (a channel's table figures appended to its bullet); their numbers are
    checked by the test above.
    """
    flat = re.sub(r"\s+", "", article).replace('"', "")
    quoted = 0
    for entry in kb.entries.values():
        if "|" in entry.text:
            continue
        head = entry.text.split("；")[0].replace('"', "")
        for clause in re.split(r"[,;。:、]", head):
            if len(clause) >= 3:
                assert clause in flat, f"{entry.id}: {clause!r} not in the article"
        quoted += 1
    assert quoted > 40
