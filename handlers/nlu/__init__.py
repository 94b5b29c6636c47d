"""Chinese message understanding for the wxloan bot: intents, profile slots, scams.

Usage::

    from wxloan.handlers.nlu import Understander

    nlu = Understander()  # once, at start-up (~15 ms after the imports)
    u = nlu.understand(text, expecting=None)  # text: "pay score 680, never overdue"
    u.intents, u.slots["pay_score"], u.slots["overdue"]  # (), 680, "none"
    nlu.understand("两次", expecting="inquiries_3m").slots  # {"inquiries_3m": 2}

Design, and why these libraries:

* **Vocabulary is data.**  Every keyword, synonym, unit, negator, scam phrase
  and typo lives in ``knowledge/data/lexicon.toml``; the modules here are
  mechanism only, and the loader rejects unknown ids so data typos fail fast.
* **No jieba.**  The domain vocabulary is closed, so a leftmost-longest trie
  match over the lexicon (:mod:`.trie`) gives the segmentation that matters
  in a few microseconds.  jieba's default dictionary took 0.6 s to load here
  (a third of the 2 s start-up budget), and its general-purpose cuts would
  still have to be overridden by our own phrases (开不通, 综合评分不足).
* **cn2an** converts Chinese numerals (its normal mode reads 六百八 = 680 and
  一万五 = 15000 correctly); ranges and hedges it cannot read (六七百, 两三次,
  十几, 六百多, 俩) are pre-normalised in :mod:`.numbers`, and results are
  cached because each call costs ~10 µs.
* **rapidfuzz** computes edit distances in C for typo repair (:mod:`.fuzzy`):
  after a cheap character index picks the few lexicon words a message nearly
  contains, ``process.extractOne`` with ``Levenshtein.distance`` (cutoff 1)
  checks the candidate windows in one call (徽粒贷 -> 微粒贷, 综合分不足 ->
  综合评分不足).  Screening every message with ``process.extract`` and
  ``partial_ratio`` was measured at ~17 µs, so it is not done.  Two-character
  typos (体额 -> 提额) are explicit lexicon entries, because one edit in a
  two-character word usually yields another real word (逾期 / 预期).
* Everything runs synchronously on the CPU, with no network and no models.
"""

from __future__ import annotations

from .lexicon import Lexicon, LexiconError, load_lexicon
from .model import INTENT_IDS, SCAM_PATTERN_IDS, SLOT_KINDS, SLOT_NAMES, Understanding
from .understander import Understander, default_understander, understand

__all__ = [
    "INTENT_IDS",
    "SCAM_PATTERN_IDS",
    "SLOT_KINDS",
    "SLOT_NAMES",
    "Lexicon",
    "LexiconError",
    "Understander",
    "Understanding",
    "default_understander",
    "load_lexicon",
    "understand",
]
