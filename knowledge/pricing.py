"""Indicative APR and limit ranges for one product and one profile.

How the article's figures are combined (its contradictions are resolved here):

* **APR = product range ∩ pay-score tier range.** The products table (section 2)
  and the pay-score tiers (section 6) both give APR ranges. The indicative range is
  their intersection. Where they do not overlap (We2000 12%-24% vs the 750+ tier
  7.2%-10.8%) we clamp to the product's range edge nearest the tier (We2000 at
  750+ → 12%-12%) and emit ``apr_clamped``. Unknown pay score → the product's
  whole table range (``apr_product_range``).
* **The intro's 7.2%-24% vs the partner bank's 6.9% floor:** the products table
  wins; the intro's 7.2% is the 微粒贷 / top-tier floor, not a global floor.
* **First-loan discount (new users, "可下浮20%"):** read as relative (× 0.8) and
  "up to": only the low end drops, and never below the product's table floor.
* **Limits** come from the products table only; the article ties no limit to a
  pay-score tier. Students are capped at the student limit (5,000 元); the cap is
  below 微粒贷's and 合作银行贷's floors, which assess() turns into "no" for those
  products. The business-owner 500,000 元 ceiling exceeds every product's range,
  so it is reported as the special track's cap, not folded into a product range.

Ranges therefore always stay inside the product's table range and never get worse
as the pay score rises (tiers are ordered and disjoint).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from .enums import Identity
from .kb import KnowledgeBase
from .records import Product
from .results import Param, Range, Reason

__all__ = ["apr_range", "limit_range", "student_cap"]

_CENT = Decimal("0.01")


def apr_range(
    product: Product, pay_score: int | None, identity: Identity | None, kb: KnowledgeBase
) -> tuple[Range[Decimal], tuple[Reason, ...]]:
    """The indicative APR range (percent) and the reasons that shaped it."""
    reasons: list[Reason] = []
    tier = None if pay_score is None else kb.tier_for(pay_score)
    if tier is None:
        low, high = product.apr_min, product.apr_max
        reasons.append(
            Reason(
                "apr_product_range",
                {"product_apr_min": product.apr_min, "product_apr_max": product.apr_max},
                (product.id,),
            )
        )
    else:
        low, high = max(product.apr_min, tier.apr_min), min(product.apr_max, tier.apr_max)
        params: dict[str, Param] = {
            "tier": tier.key,
            "tier_apr_min": tier.apr_min,
            "tier_apr_max": tier.apr_max,
            "product_apr_min": product.apr_min,
            "product_apr_max": product.apr_max,
        }
        if low <= high:
            reasons.append(Reason("apr_tier", params, (tier.id, product.id)))
        else:
            edge = product.apr_min if tier.apr_max < product.apr_min else product.apr_max
            low = high = edge
            reasons.append(Reason("apr_clamped", params, (tier.id, product.id)))
    if identity is Identity.NEW_USER:
        figure = kb.rules.first_loan_discount_pct
        discounted = (low * (100 - figure.value) / 100).quantize(_CENT, ROUND_HALF_UP)
        discounted = max(product.apr_min, discounted)
        if discounted < low:
            low = discounted
            reasons.append(
                Reason("first_loan_discount", {"discount_pct": figure.value}, (figure.id,))
            )
    return Range(low, high), tuple(reasons)


def student_cap(identity: Identity | None, kb: KnowledgeBase) -> tuple[int, str] | None:
    """(cap, entry id) of the student limit when the user is a student."""
    if identity is not Identity.STUDENT:
        return None
    group = kb.group(Identity.STUDENT)
    if group is None or group.limit_cap is None:
        return None
    return group.limit_cap, group.id


def limit_range(
    product: Product, identity: Identity | None, kb: KnowledgeBase
) -> tuple[Range[int], tuple[Reason, ...]]:
    """The indicative limit range (元) and the reasons that shaped it."""
    high = product.limit_max
    cap = student_cap(identity, kb)
    if cap is not None and cap[0] < high:
        high = max(product.limit_min, cap[0])
        return Range(product.limit_min, high), (
            Reason("limit_student_cap", {"cap_yuan": cap[0]}, (cap[1],)),
        )
    return Range(product.limit_min, high), ()
