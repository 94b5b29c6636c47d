"""Knowledge and reasoning of the WeChat-credit consultation bot; pure, stdlib only.

Every figure comes from the article "微信借贷如何开通(微信借钱开通)" and lives in
``knowledge/data/*.toml``; each fact is an entry with a stable ``id``, a ``section``
and the article ``text`` it quotes, so every conclusion can cite its ``sources``
(``kb.explain(result.sources)`` answers "为什么?").

Section numbers (``data/sections.toml``): 0 introduction; 1 admission conditions
and 2 products table (both from the article's heading 一); 3 channels (二); 4 limit
factors and materials (三); 5 risk control (四); 6 pricing (五); 7 special groups
(六); 8 rejections (七); 9 after opening (八) plus the closing paragraph.

How the article's contradictions are resolved (each also a ``note`` in the data):

* Intro "7.2%-24%" vs partner bank's 6.9% floor: the products table wins.
* Indicative APR = product range ∩ pay-score tier range; when empty (We2000 12%
  floor vs the 750+ tier's 7.2%-10.8%) it is clamped to the product edge nearest
  the tier (12%). The 580-649 tier vs 微粒贷's 620 minimum: 580-619 fits only
  We2000; 微粒贷 at 620-649 is 18%-18.25%.
* First-loan discount "可下浮20%": relative (×0.8), up to, low end only, never
  below the product floor; new users only.
* Student cap 5,000 is below 微粒贷's and 合作银行贷's floors: students fit only
  We2000 (2,000-5,000). The business-owner 500,000 exceeds every product's range:
  reported as the special track's ceiling, not folded into product ranges.
* "间隔3个月" vs "90天冷却期": re-apply on the later of the two dates.
* 微粒贷 7.2% = 0.02%/day × 360 but 18.25% = 0.05%/day × 365: the calculator uses
  360 by default and accepts 365.
* "Too many inquiries" has no figure in the article: ``data/policy.toml`` assumes
  more than 6 in 3 months (to be confirmed; never quoted to users).

Statuses mean "meets the article's reference thresholds", never approval.
Conclusions are codes with params; see :data:`CODES`.
"""

from __future__ import annotations

from .assessment import assess
from .calculator import (
    Instalment,
    Schedule,
    apr_to_daily_rate,
    daily_rate_to_apr,
    equal_instalment,
    equal_principal,
)
from .codes import CODES, CodeSpec
from .diagnosis import diagnose_rejection
from .enums import (
    Evidence,
    Identity,
    Lean,
    Material,
    Overdue,
    Purpose,
    Questionnaire,
    RejectionHint,
    RepaymentMethod,
    RiskGrade,
    Status,
)
from .errors import CalculatorError, DataError, KnowledgeError, ProfileError, UnknownEntryError
from .kb import KnowledgeBase
from .limits import limit_plan
from .loader import load_knowledge
from .profile import ApplicantProfile
from .questions import next_question, next_questions
from .records import Entry, Section
from .signals import open_materials
from .results import (
    Action,
    Assessment,
    Cause,
    ChannelAdvice,
    Diagnosis,
    Effect,
    LimitPlan,
    ProductVerdict,
    Question,
    Range,
    Reason,
    Remedy,
    RiskEstimate,
    SpecialTrack,
)

__all__ = [
    "Action",
    "ApplicantProfile",
    "Assessment",
    "CODES",
    "CalculatorError",
    "Cause",
    "ChannelAdvice",
    "CodeSpec",
    "DataError",
    "Diagnosis",
    "Effect",
    "Entry",
    "Evidence",
    "Identity",
    "Instalment",
    "KnowledgeBase",
    "KnowledgeError",
    "Lean",
    "LimitPlan",
    "Material",
    "Overdue",
    "ProductVerdict",
    "ProfileError",
    "Purpose",
    "Question",
    "Questionnaire",
    "Range",
    "Reason",
    "RejectionHint",
    "Remedy",
    "RepaymentMethod",
    "RiskEstimate",
    "RiskGrade",
    "Schedule",
    "Section",
    "SpecialTrack",
    "Status",
    "UnknownEntryError",
    "apr_to_daily_rate",
    "assess",
    "daily_rate_to_apr",
    "diagnose_rejection",
    "equal_instalment",
    "equal_principal",
    "limit_plan",
    "load_knowledge",
    "next_question",
    "next_questions",
    "open_materials",
]
