"""The trained intent model at run time: numpy only, loaded once from a JSON artifact.

``knowledge/data/nlu/model.json`` is written by :mod:`.training` (scikit-learn,
build time only).  It holds a TF-IDF vocabulary of character n-grams with
their idf, the linear model's weights per n-gram and per class, the class
intercepts, the confidence threshold chosen by cross-validation, and the
sha256 of the examples it was fit on.  Inference repeats exactly what
scikit-learn's ``TfidfVectorizer`` + ``LogisticRegression.predict_proba`` do
(raw counts x idf, L2-normalised, dot, softmax), restricted to the n-grams
the message contains, so a message costs a few dict look-ups and three small
numpy operations (~10 µs) and serving never imports scikit-learn.

:func:`features` is the one featuriser: training passes it to the vectoriser
as its analyzer, so train-time and run-time features cannot drift apart.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from operator import add, mul
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

__all__ = [
    "ARTIFACT_FORMAT",
    "DEFAULT_MODEL",
    "Classifier",
    "ModelError",
    "Prediction",
    "default_model_path",
    "features",
    "model_text",
    "number_pattern",
    "rule_tags",
]

DEFAULT_MODEL: Final = "knowledge/data/nlu/model.json"
ARTIFACT_FORMAT: Final = 1

# Every number becomes this one character, so "pay score 680" and "... 590" look alike.
NUMBER: Final = "0"
_PAD: Final = " "


class ModelError(ValueError):
    """The model artifact is missing, unreadable or malformed."""


@dataclass(frozen=True, slots=True)
class Prediction:
    """The model's reading: ``ranked`` is (intent, probability), best first (the top few)."""

    ranked: tuple[tuple[str, float], ...]
    _p: Sequence[float]
    _index: Mapping[str, int]

    def probability(self, intent: str) -> float:
        """Any class's probability (0.0 for an id the model does not know)."""
        j = self._index.get(intent)
        return self._p[j] if j is not None else 0.0

    @property
    def intent(self) -> str:
        return self.ranked[0][0]

    @property
    def confidence(self) -> float:
        return self.ranked[0][1]


def number_pattern(numerals: Iterable[str]) -> re.Pattern[str]:
    """ASCII numbers (with decimals / percent) and runs of two or more Chinese numerals.

    :param numerals: the lexicon's numeral characters (a lone one is usually a word: 一下).
    """
    chars = "".join(sorted(set(numerals) - set("0123456789")))
    chinese = f"|[{re.escape(chars)}]{{2,}}" if chars else ""
    return re.compile(r"\d+(?:\.\d+)?%?" + chinese)


def model_text(normalised: str, numbers: re.Pattern[str]) -> str:
    """What the model reads: the rules' normalised text with each number replaced."""
    return numbers.sub(NUMBER, normalised)


class _Tags(dict[str, str]):
    """``prefix + id``, each built once: the same string objects every message (their hashes
    are cached for the model's look-ups), and no formatting per message."""

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix

    def __missing__(self, key: str) -> str:
        tag = self[key] = self.prefix + key
        return tag


_INTENT_TAG: Final = _Tags("rule:intent=")
_TOP_TAG: Final = _Tags("rule:top=")
_SLOT_TAG: Final = _Tags("rule:slot=")


def rule_tags(
    intents: Sequence[str],
    slots: Iterable[str],
    *,
    scam: bool,
    yes_no: bool,
    choice: bool,
    negated: bool,
) -> tuple[str, ...]:
    """What the rule layer read, as extra features: the model learns when to trust it.

    The lexicon's intent ranking (its first intent apart), the slots found, and
    whether a scam pattern, a yes/no, a menu number or a denial was seen; and
    ``rule:nothing`` when the rules read nothing at all (no domain word: chit-chat,
    gibberish, or a wording the lexicon lacks; +0.3 points in cross-validation).  Every
    tag is longer than any n-gram, so none can collide with text.
    """
    tags = [_INTENT_TAG[i] for i in intents[:3]]
    tags.append(_TOP_TAG[intents[0]] if intents else "rule:no_intent")
    tags.extend(map(_SLOT_TAG.__getitem__, sorted(slots)))
    if scam:
        tags.append("rule:scam")
    if yes_no:
        tags.append("rule:yes_no")
    if choice:
        tags.append("rule:choice")
    if negated:
        tags.append("rule:negated")
    if len(tags) == 1 and not intents:
        tags.append("rule:nothing")  # no lexicon word at all: off-topic, gibberish or new
    return tuple(tags)


def features(
    text: str, low: int = 1, high: int = 2, tags: Sequence[str] = (), length: bool = True
) -> list[str]:
    """Character n-grams (``low``..``high``) of ``text`` padded with a boundary mark, + ``tags``.

    ``text`` is already :func:`model_text`; the padding lets 在吗 as a whole
    message differ from 在吗 inside one.  The bare pad is no feature.  With
    ``length``, a coarse length bucket is one more feature: two-character
    messages are mostly commands and small talk.
    """
    s = _PAD + text + _PAD
    out: list[str] = []
    for k in range(low, high + 1):
        if k == 1:
            out.extend(text.replace(_PAD, ""))  # the unigrams, never a bare pad
        else:
            out.extend([s[i : i + k] for i in range(len(s) - k + 1)])
    out.extend(tags)
    if length:
        out.append(_length_tag(len(text)))
    return out


def _length_tag(n: int) -> str:
    return "length:" + ("1-2" if n <= 2 else "3-4" if n <= 4 else "5-8" if n <= 8 else "9+")


def default_model_path() -> Path:
    """``knowledge/data/nlu/model.json`` next to ``handlers/`` (source tree or site-packages)."""
    return Path(__file__).resolve().parents[2] / DEFAULT_MODEL


_sum: Final = np.add.reduce  # what ndarray.sum() calls, without its Python-level wrapper


class Classifier:
    """A loaded artifact; :meth:`predict` is pure CPU and keeps no state.

    :param artifact: the parsed JSON (see :mod:`.training` for the writer).
    :raises ModelError: on a wrong format or inconsistent shapes.
    """

    def __init__(self, artifact: Mapping[str, Any]) -> None:
        try:
            if artifact.get("format") != ARTIFACT_FORMAT:
                raise ModelError(f"model format must be {ARTIFACT_FORMAT}")
            feats = artifact["features"]
            self.low: Final[int] = int(feats["ngram_range"][0])
            self.high: Final[int] = int(feats["ngram_range"][1])
            self.length: Final[bool] = bool(feats["length"])
            self.classes: Final[tuple[str, ...]] = tuple(str(c) for c in artifact["classes"])
            self.threshold: Final[float] = float(artifact["threshold"])
            self.examples_sha256: Final[str] = str(artifact["examples_sha256"])
            rows: Sequence[Sequence[Any]] = artifact["rows"]
            self._idf = np.array([float(r[1]) for r in rows], dtype=np.float64)
            weights = np.array([r[2] for r in rows], dtype=np.float64)
            self._intercepts = np.array(artifact["intercepts"], dtype=np.float64)
            grams = [str(r[0]) for r in rows]
        except (KeyError, TypeError, IndexError, ValueError) as exc:
            if isinstance(exc, ModelError):
                raise
            raise ModelError(f"malformed model artifact: {exc!r}") from exc
        n_classes = len(self.classes)
        if len(set(grams)) != len(rows):
            raise ModelError("duplicate n-gram in the model's vocabulary")
        if weights.shape != (len(rows), n_classes) or self._intercepts.shape != (n_classes,):
            raise ModelError(
                f"model shapes disagree: {weights.shape} weights, "
                f"{self._intercepts.shape} intercepts, {n_classes} classes"
            )
        # Row 0 holds the intercepts, always taken with weight 1; the n-grams follow from
        # row 1 (so ``filter(None, ...)`` drops the unknown ones at C speed), the commonest
        # (lowest idf) first: the rows a message gathers then sit close together, in fewer
        # cache lines than in the artifact's alphabetical order.  Only where a row is
        # stored changes, not what is summed in which order.
        hot = np.argsort(self._idf, kind="stable").tolist()
        self._vocab: dict[str, int] = {grams[j]: i for i, j in enumerate(hot, 1)}
        self._weights_b: npt.NDArray[np.float64] = np.ascontiguousarray(
            np.vstack([self._intercepts[np.newaxis, :], weights[hot]])
        )
        self._bias_row = 0
        self._idf_list: list[float] = [0.0, *self._idf[hot].tolist()]
        self._index = {c: i for i, c in enumerate(self.classes)}

    @classmethod
    def load(cls, path: Path | str | None = None) -> Classifier:
        """Read the artifact (default ``knowledge/data/nlu/model.json``).

        :raises ModelError: if it is missing, not JSON or malformed.
        """
        p = Path(path) if path is not None else default_model_path()
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot read the intent model {p}: {exc}") from exc
        if not isinstance(data, dict):
            raise ModelError(f"{p}: expected a JSON object")
        return cls(data)

    @property
    def size(self) -> int:
        """How many n-grams the model knows."""
        return len(self._vocab)

    def predict(self, text: str, tags: Sequence[str] = (), top: int = 3) -> Prediction:
        """The ``top`` likeliest intents of a :func:`model_text` string and its :func:`rule_tags`.

        A message with no known feature gets the class prior (the intercepts).
        """
        # Each numpy call costs ~1 µs whatever its size, so the short per-message work
        # (feature look-ups, tf-idf, the norm) is C-level map()s over Python lists and
        # numpy does the rest: gather the message's rows (+ the intercept row), one
        # dot product, the softmax.  The arithmetic is scikit-learn's, in its order.
        found = list(filter(None, map(self._vocab.get, self._grams(text, tags))))
        if not found:
            return self._prediction(self._intercepts, top)
        idf = self._idf_list
        if len(set(found)) == len(found):  # the usual case: every known n-gram once
            rows = found
            x = list(map(idf.__getitem__, found))
        else:
            counts = dict.fromkeys(found, 0)  # first-occurrence order, as a count loop gives
            for j in found:
                counts[j] += 1
            rows = list(counts)
            x = list(map(mul, counts.values(), map(idf.__getitem__, counts)))
        norm = math.sqrt(sum(map(mul, x, x)))
        x.append(norm)  # the intercept row's weight: norm / norm is exactly 1.0
        rows.append(self._bias_row)
        w = np.array(x)
        w /= norm
        return self._prediction(w @ self._weights_b.take(rows, axis=0), top)

    def _grams(self, text: str, tags: Sequence[str]) -> Iterable[str]:
        """:func:`features` of ``text``, in its order, without building the list twice."""
        if (self.low, self.high) != (1, 2):
            return features(text, self.low, self.high, tags, self.length)
        s = _PAD + text + _PAD
        grams = chain(text.replace(_PAD, ""), map(add, s, s[1:]), tags)
        return chain(grams, (_length_tag(len(text)),)) if self.length else grams

    def _prediction(self, z: npt.NDArray[np.float64], top: int) -> Prediction:
        e = np.exp(z - z.max())
        p: list[float] = (e / _sum(e)).tolist()
        by_e = e.tolist()
        # np.argsort(-e, kind="stable"): the largest first, ties in class order
        order = sorted(range(len(by_e)), key=by_e.__getitem__, reverse=True)[:top]
        ranked = tuple(zip(map(self.classes.__getitem__, order), map(p.__getitem__, order)))
        return Prediction(ranked, p, self._index)
