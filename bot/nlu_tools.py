"""``wxloan nlu test`` and ``wxloan nlu review``: measure understanding, and improve it
from real traffic.

* ``test`` scores the Understander on the held-out examples
  (:func:`wxloan.handlers.nlu.evaluation.evaluate`), prints the scores, the per-intent
  and per-slot tables and every miss, and with ``--report DIR`` writes ``confusion.svg``
  and ``index.html`` there. It exits 0 when every score meets
  ``knowledge/data/nlu/thresholds.toml``, 1 otherwise (naming each), 2 on bad
  configuration.
* ``review`` reads the masked inbound messages of the last days whose log ``meta`` says
  they fell to the fallback, got a clarifying question or were read with low confidence,
  groups near-duplicates, shows each group with the model's best guesses, and with
  ``--export FILE`` writes them in the example-set format for a person to label.

Both are operator commands: they import scikit-learn, Jinja and the example loader when
they run, never when the server starts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import re
import time
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ConfigError

if TYPE_CHECKING:
    from jinja2 import Template

    from wxloan.handlers.nlu import Understanding
    from wxloan.handlers.nlu.evaluation import Evaluation, Thresholds
    from wxloan.storage import LoggedMessage

    from .config import Settings

__all__ = ["Group", "group_messages", "run_review", "run_test", "write_export",
           "write_report"]

#: Two normalised messages at least this similar (rapidfuzz ``fuzz.ratio``, 0..100) are
#: one group in ``review``.
SIMILARITY = 80
#: Variants of a group printed under it (the export keeps them all).
SHOWN_VARIANTS = 3


# -- nlu test ---------------------------------------------------------------------------


def run_test(args: argparse.Namespace) -> int:
    """``wxloan nlu test``: evaluate, print, optionally write the report; 0 / 1 / 2."""
    from wxloan.handlers.nlu import Understander
    from wxloan.handlers.nlu.evaluation import ThresholdsError, evaluate, failures, load_thresholds
    from wxloan.handlers.nlu.examples import ExamplesError, load_examples, split

    try:
        thresholds = load_thresholds(args.thresholds)
        examples = load_examples(args.examples)
    except (ThresholdsError, ExamplesError) as exc:
        raise ConfigError(str(exc)) from None
    train, test = split(examples)
    if not test:
        raise ConfigError("the example set has no held-out example to evaluate")
    evaluation = evaluate(test, Understander(), threshold=thresholds.confidence)
    failed = failures(evaluation, thresholds)
    print(f"held-out examples {len(test)} of {len(examples)} (the other {len(train)} train"
          " the model)")
    for line in _score_lines(evaluation, thresholds):
        print(line)
    print()
    for line in _intent_table(evaluation):
        print(line)
    print()
    for line in _slot_table(evaluation, thresholds):
        print(line)
    for line in _miss_lines(evaluation):
        print(line)
    if args.report is not None:
        index = write_report(Path(args.report), evaluation, thresholds, failed)
        print(f"\nreport: {index}")
    print()
    if failed:
        print("FAIL: " + "; ".join(failed))
        return 1
    print("PASS: every score meets its threshold in " + thresholds.path)
    return 0


def _mark(ok: bool) -> str:
    return "ok" if ok else "BELOW"


def _score_lines(ev: Evaluation, th: Thresholds) -> list[str]:
    fallback_ok = ev.fallback_rate <= th.max_fallback
    return [
        f"intent accuracy   {ev.accuracy:.3f}   (>= {th.intent_accuracy})"
        f"  {_mark(ev.accuracy >= th.intent_accuracy)}",
        f"macro-F1          {ev.macro_f1:.3f}   (>= {th.macro_f1})"
        f"  {_mark(ev.macro_f1 >= th.macro_f1)}",
        f"fallback rate     {ev.fallback_rate:.3f}   (<= {th.max_fallback})"
        f"  {'ok' if fallback_ok else 'ABOVE'}  ({len(ev.fallbacks)} examples; confidence"
        f" threshold {th.confidence})",
        f"slot micro-F1     {ev.slot_micro_f1:.3f}",
    ]


def _intent_table(ev: Evaluation) -> list[str]:
    lines = [f"{'intent':<20} {'precision':>9} {'recall':>7} {'f1':>6} {'support':>8}"]
    for s in ev.intents:
        lines.append(f"{s.intent:<20} {s.precision:>9.3f} {s.recall:>7.3f} {s.f1:>6.3f}"
                     f" {s.support:>8}")
    return lines


def _slot_table(ev: Evaluation, th: Thresholds) -> list[str]:
    lines = [f"{'slot':<22} {'precision':>9} {'recall':>7} {'f1':>6} {'support':>8}"
             f" {'read':>5}  threshold"]
    names = [s.slot for s in ev.slots] + [n for n in th.slot_f1 if ev.slot(n) is None]
    for name in names:
        score = ev.slot(name)
        minimum = th.slot_f1.get(name)
        need = "" if minimum is None else f">= {minimum}"
        if score is None:
            lines.append(f"{name:<22} {'-':>9} {'-':>7} {'-':>6} {0:>8} {0:>5}  {need}"
                         "  no held-out example")
            continue
        verdict = "" if minimum is None else "  " + _mark(score.f1 >= minimum and score.support > 0)
        lines.append(f"{name:<22} {score.precision:>9.3f} {score.recall:>7.3f} {score.f1:>6.3f}"
                     f" {score.support:>8} {score.predicted:>5}  {need}{verdict}")
    return lines


def _guesses(alternatives: Sequence[tuple[str, float]]) -> str:
    return ", ".join(f"{intent} {p:.2f}" for intent, p in alternatives[:3])


def _miss_lines(ev: Evaluation) -> list[str]:
    lines: list[str] = []
    if ev.misclassified:
        lines += ["", f"misclassified ({len(ev.misclassified)}): where  label -> reading"
                  " (confidence, source; the model's best guesses)  text"]
        for m in ev.misclassified:
            extra = f"; {_guesses(m.alternatives)}" if m.alternatives else ""
            lines.append(f"  {m.where:<18} {m.expected} -> {m.predicted} ({m.confidence:.2f},"
                         f" {m.source}{extra})  {m.text}")
    if ev.fallbacks:
        lines += ["", f"fell to the fallback ({len(ev.fallbacks)}): no intent and no slot,"
                  f" or confidence below {ev.confidence_threshold}"]
        for m in ev.fallbacks:
            lines.append(f"  {m.where:<18} {m.expected}: {m.predicted} ({m.confidence:.2f},"
                         f" {m.source})  {m.text}")
    if ev.slot_misses:
        lines += ["", f"slot errors ({len(ev.slot_misses)}): where  slot  annotated ->"
                  " read  text"]
        for s in ev.slot_misses:
            want = "(not annotated)" if s.expected is None else s.expected
            if s.unreadable:
                want += " (the surface reads as no value)"
            got = "(not read)" if s.got is None else s.got
            lines.append(f"  {s.where:<18} {s.slot}  {want} -> {got}  {s.text}")
    return lines


# -- the report: confusion.svg and index.html ------------------------------------------

_SVG_TEMPLATE = """\
<svg xmlns="http://www.w3.org/2000/svg" width="{{ width }}" height="{{ height }}" \
viewBox="0 0 {{ width }} {{ height }}" font-family="sans-serif" font-size="11">
<title>Confusion matrix: {{ n }} held-out examples (rows: label, columns: reading)</title>
<rect width="100%" height="100%" fill="#fff"/>
<text x="{{ left }}" y="14" font-size="13">reading (columns) · label (rows) · \
{{ n }} held-out examples</text>
{% for label in labels %}
<text x="{{ left - 6 }}" y="{{ top + loop.index0 * cell + cell * 0.7 }}" \
text-anchor="end">{{ label }}</text>
<text transform="translate({{ left + loop.index0 * cell + cell * 0.7 }},{{ top - 6 }}) \
rotate(-60)">{{ label }}</text>
{% endfor %}
{% for c in cells %}
<rect x="{{ c.x }}" y="{{ c.y }}" width="{{ cell }}" height="{{ cell }}" fill="{{ c.fill }}" \
stroke="#ddd"><title>{{ c.tip }}</title></rect>
{% if c.count %}<text x="{{ c.x + cell / 2 }}" y="{{ c.y + cell * 0.7 }}" \
text-anchor="middle" fill="{{ c.ink }}">{{ c.count }}</text>{% endif %}
{% endfor %}
</svg>
"""

_INDEX_TEMPLATE = """\
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>wxloan nlu test: {{ "PASS" if not failed else "FAIL" }}</title>
<style>
body { font-family: sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { padding: 3px 10px; border-bottom: 1px solid #ddd; text-align: right; }
th:first-child, td:first-child, td.text { text-align: left; }
.low { background: #fde2e1; } .ok { color: #17703a; } .bad { color: #b3261e; font-weight: bold; }
.verdict { font-size: 1.3em; }
</style>
</head>
<body>
<h1>Understanding on the held-out examples</h1>
<p>{{ ev.examples }} held-out examples (one in five by hash of the text, never used to fit or
tune anything), read by the Understander exactly as the bot reads them. Thresholds:
<code>{{ th.path }}</code>.</p>
{% if failed %}
<p class="verdict bad">FAIL: {{ failed | length }} not met</p>
<ul>{% for f in failed %}<li>{{ f }}</li>{% endfor %}</ul>
{% else %}
<p class="verdict ok">PASS: every score meets its threshold</p>
{% endif %}
<table>
<tr><th>score</th><th>value</th><th>threshold</th></tr>
{% for s in scores %}
<tr class="{{ '' if s.ok else 'low' }}"><td>{{ s.name }}</td><td>{{ "%.3f" | format(s.value) }}</td>
<td>{{ s.need }}</td></tr>
{% endfor %}
</table>
<h2>Per intent</h2>
<p>Precision: of the examples read as this intent, the share labelled so. Recall: of the
examples labelled so, the share read so. Support: held-out examples with this label.
<code>none</code>: the message only states facts (no intent).</p>
<table>
<tr><th>intent</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>
{% for s in ev.intents %}
<tr class="{{ 'low' if s.f1 < th.macro_f1 else '' }}"><td>{{ s.intent }}</td>
<td>{{ "%.3f" | format(s.precision) }}</td><td>{{ "%.3f" | format(s.recall) }}</td>
<td>{{ "%.3f" | format(s.f1) }}</td><td>{{ s.support }}</td></tr>
{% endfor %}
</table>
<h2>Slots</h2>
<p>A slot is right when its value equals the annotation's (a number: what the rules read
from the annotated surface on its own). Read: how many times the Understander read it.</p>
<table>
<tr><th>slot</th><th>precision</th><th>recall</th><th>F1</th><th>support</th><th>read</th>
<th>threshold</th></tr>
{% for s in slots %}
<tr class="{{ '' if s.ok else 'low' }}"><td>{{ s.slot }}</td>
{% if s.score %}<td>{{ "%.3f" | format(s.score.precision) }}</td>
<td>{{ "%.3f" | format(s.score.recall) }}</td><td>{{ "%.3f" | format(s.score.f1) }}</td>
<td>{{ s.score.support }}</td><td>{{ s.score.predicted }}</td>
{% else %}<td colspan="5">no held-out example annotates it</td>{% endif %}
<td>{{ s.need }}</td></tr>
{% endfor %}
</table>
<h2>Confusion matrix</h2>
<p>Rows: the label; columns: what the Understander read. The diagonal is right; a dark
cell off it is a pair of intents that the examples or the model do not tell apart.</p>
<p><img src="confusion.svg" alt="confusion matrix"></p>
<h2>Misclassified ({{ ev.misclassified | length }})</h2>
<table>
<tr><th>where</th><th>label</th><th>reading</th><th>confidence</th><th>source</th>
<th>best guesses</th><th>text</th></tr>
{% for m in ev.misclassified %}
<tr><td>{{ m.where }}</td><td>{{ m.expected }}</td><td>{{ m.predicted }}</td>
<td>{{ "%.2f" | format(m.confidence) }}</td><td>{{ m.source }}</td>
<td>{{ guesses(m.alternatives) }}</td><td class="text">{{ m.text }}</td></tr>
{% endfor %}
</table>
<h2>Fell to the fallback ({{ ev.fallbacks | length }})</h2>
<p>No intent and no slot although the label is not <code>none</code>, or a confidence below
{{ ev.confidence_threshold }} (the bot would ask a clarifying question).</p>
<table>
<tr><th>where</th><th>label</th><th>reading</th><th>confidence</th><th>text</th></tr>
{% for m in ev.fallbacks %}
<tr><td>{{ m.where }}</td><td>{{ m.expected }}</td><td>{{ m.predicted }}</td>
<td>{{ "%.2f" | format(m.confidence) }}</td><td class="text">{{ m.text }}</td></tr>
{% endfor %}
</table>
<h2>Slot errors ({{ ev.slot_misses | length }})</h2>
<table>
<tr><th>where</th><th>slot</th><th>annotated</th><th>read</th><th>text</th></tr>
{% for s in ev.slot_misses %}
<tr><td>{{ s.where }}</td><td>{{ s.slot }}</td>
<td>{{ "(not annotated)" if s.expected is none else s.expected }}\
{{ " (reads as no value)" if s.unreadable else "" }}</td>
<td>{{ "(not read)" if s.got is none else s.got }}</td><td class="text">{{ s.text }}</td></tr>
{% endfor %}
</table>
</body>
</html>
"""


def _jinja(source: str) -> Template:
    from jinja2 import Environment, StrictUndefined

    env = Environment(autoescape=True, undefined=StrictUndefined, trim_blocks=True,
                      lstrip_blocks=True, keep_trailing_newline=True)
    env.globals["guesses"] = _guesses
    return env.from_string(source)


def confusion_svg(ev: Evaluation) -> str:
    """The confusion matrix as a standalone SVG (one cell per label pair, shaded by the
    share of its row, so a small intent's errors show as clearly as a big one's)."""
    labels = ev.labels
    cell = 20
    left = 16 + 7 * max((len(label) for label in labels), default=4)
    top = 24 + int(5.5 * max((len(label) for label in labels), default=4))
    cells = []
    for i, row in enumerate(ev.confusion):
        total = sum(row) or 1
        for j, count in enumerate(row):
            share = count / total
            if count == 0:
                fill, ink = "#ffffff", "#000"
            elif i == j:
                fill, ink = _shade((23, 112, 58), share), "#fff" if share > 0.5 else "#000"
            else:
                fill, ink = _shade((179, 38, 30), max(share, 0.12)), "#fff" if share > 0.5 else "#000"
            cells.append({
                "x": left + j * cell, "y": top + i * cell, "fill": fill, "ink": ink,
                "count": count,
                "tip": f"{labels[i]} read as {labels[j]}: {count} of {sum(row)}",
            })
    return _jinja(_SVG_TEMPLATE).render(
        labels=labels, cells=cells, cell=cell, left=left, top=top, n=ev.examples,
        width=left + cell * len(labels) + 20, height=top + cell * len(labels) + 20,
    )


def _shade(rgb: tuple[int, int, int], share: float) -> str:
    """``rgb`` mixed with white: 0 is white, 1 the full colour."""
    r, g, b = (round(255 - (255 - c) * share) for c in rgb)
    return f"#{r:02x}{g:02x}{b:02x}"


def write_report(directory: Path, ev: Evaluation, th: Thresholds, failed: Sequence[str]) -> Path:
    """Write ``confusion.svg`` and ``index.html`` into ``directory`` (created); the page."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"--report: cannot create {directory} ({exc.strerror})") from None
    (directory / "confusion.svg").write_text(confusion_svg(ev), encoding="utf-8")
    scores = [
        {"name": "intent accuracy", "value": ev.accuracy, "need": f">= {th.intent_accuracy}",
         "ok": ev.accuracy >= th.intent_accuracy},
        {"name": "macro-F1", "value": ev.macro_f1, "need": f">= {th.macro_f1}",
         "ok": ev.macro_f1 >= th.macro_f1},
        {"name": "fallback rate", "value": ev.fallback_rate, "need": f"<= {th.max_fallback}",
         "ok": ev.fallback_rate <= th.max_fallback},
        {"name": "slot micro-F1", "value": ev.slot_micro_f1, "need": "", "ok": True},
    ]
    names = [s.slot for s in ev.slots] + [n for n in th.slot_f1 if ev.slot(n) is None]
    slots = []
    for name in names:
        score = ev.slot(name)
        minimum = th.slot_f1.get(name)
        ok = minimum is None or (score is not None and score.support > 0 and score.f1 >= minimum)
        slots.append({"slot": name, "score": score, "ok": ok,
                      "need": "" if minimum is None else f">= {minimum}"})
    page = _jinja(_INDEX_TEMPLATE).render(
        ev=ev, th=th, failed=list(failed), scores=scores, slots=slots
    )
    index = directory / "index.html"
    index.write_text(page, encoding="utf-8")
    return index


# -- nlu review -------------------------------------------------------------------------


@dataclass(slots=True)
class Group:
    """Near-duplicate messages (``fuzz.ratio`` of their normalised texts >= SIMILARITY).

    :param variants: each distinct (masked) text with how often it was sent, most
        frequent first; ``variants[0]`` is the group's example.
    """

    key: str
    variants: Counter[str] = field(default_factory=Counter)
    users: set[str] = field(default_factory=set)
    fallback: int = 0
    clarify: int = 0
    low: int = 0

    @property
    def count(self) -> int:
        return sum(self.variants.values())

    @property
    def example(self) -> str:
        return self.variants.most_common(1)[0][0]


_NOT_TEXT = re.compile(r"[\s\W_]+")
_DIGITS = re.compile(r"\d+")


def normalise(text: str) -> str:
    """What grouping compares: NFKC, lower case, no spaces or punctuation, every number 0
    (支付分680能借多少 and 支付分 590 能借多少? are one question)."""
    folded = unicodedata.normalize("NFKC", text).lower()
    return _DIGITS.sub("0", _NOT_TEXT.sub("", folded))


def group_messages(messages: Sequence[LoggedMessage], confidence: float,
                   cluster_at_most: int | None = None) -> list[Group]:
    """Greedy clustering: the most frequent text first, each next text joins the first
    group whose key it matches at SIMILARITY or more; groups by size, largest first.

    :param cluster_at_most: compare only this many distinct texts, the most frequent
        (the clustering is quadratic in them: 5,000 distinct texts take over a second);
        the rarer ones are groups of their own.
    """
    from rapidfuzz import fuzz, process

    by_text: dict[str, list[LoggedMessage]] = {}
    for m in messages:
        text = m.content.strip()
        if text:
            by_text.setdefault(normalise(text) or text, []).append(m)
    order = sorted(by_text, key=lambda k: (-len(by_text[k]), by_text[k][0].id))
    groups: list[Group] = []
    keys: list[str] = []
    for rank, key in enumerate(order):
        compared = cluster_at_most is None or rank < cluster_at_most
        match = (process.extractOne(key, keys, scorer=fuzz.ratio, score_cutoff=SIMILARITY)
                 if compared else None)
        if match is None:
            group = Group(key)
            groups.append(group)
            keys.append(key)
        else:
            group = groups[match[2]]
        for m in by_text[key]:
            group.variants[m.content.strip()] += 1
            group.users.add(m.openid)
            group.fallback += bool(m.meta.get("fallback"))
            group.clarify += bool(m.meta.get("clarify"))
            conf = m.meta.get("confidence")
            group.low += isinstance(conf, (int, float)) and conf < confidence
    return sorted(groups, key=lambda g: (-g.count, -len(g.variants), g.key))


def best_guesses(u: Understanding) -> list[tuple[str, float]]:
    """The readings to show: the model's alternatives, else what the rules decided."""
    if u.alternatives:
        return list(u.alternatives[:3])
    return [(u.intents[0], u.confidence)] if u.intents else []


def run_review(args: argparse.Namespace, settings: Settings) -> int:
    """``wxloan nlu review``: print the groups; ``--export`` writes them; 0 (2: bad input)."""
    from wxloan.handlers.nlu import Understander
    from wxloan.handlers.nlu.evaluation import ThresholdsError, load_thresholds
    from wxloan.storage import NoDatabaseError, NoMetaError, ReadOnlyStore, describe

    from .startup import db_error, is_db_error

    if args.days <= 0:
        raise ConfigError("--days must be more than 0")
    try:
        thresholds = load_thresholds(args.thresholds)
    except ThresholdsError as exc:
        raise ConfigError(str(exc)) from None
    since = time.time() - args.days * 86400
    db_path = describe(settings.db_target)
    try:
        if settings.database is None:
            with ReadOnlyStore(settings.db_path) as store:
                messages = store.unsure_messages(since, thresholds.confidence)
        else:
            from wxloan.storage.postgres.operator import PgOperatorStore

            with PgOperatorStore(settings.database) as pg:
                messages = pg.unsure_messages(since, thresholds.confidence)
    except NoDatabaseError:
        raise ConfigError(f"WXLOAN_DB / --db: no database at {db_path}") from None
    except NoMetaError:
        raise ConfigError(
            f"WXLOAN_DB / --db: {db_path} keeps no understanding per message yet (its"
            " schema predates migration 0005_message_meta; `wxloan serve` applies it)"
        ) from None
    except Exception as exc:  # a file that is not a database, a server that cannot be used
        if settings.database is not None and is_db_error(settings.database, exc):
            raise ConfigError(str(db_error(settings.database, exc))) from None
        raise ConfigError(f"WXLOAN_DB / --db: {db_path} is not a wxloan database ({exc})"
                          ) from None
    groups = group_messages(messages, thresholds.confidence)
    print(f"{len(messages)} messages in the last {args.days:g} days fell to the fallback or"
          f" were read below confidence {thresholds.confidence}: {len(groups)} groups"
          " (texts masked)")
    nlu = Understander()
    guesses = [best_guesses(nlu.understand(g.example)) for g in groups]
    for n, (group, guess) in enumerate(zip(groups, guesses, strict=True), 1):
        what = ", ".join(f"{name} {count}" for name, count in
                         (("fallback", group.fallback), ("clarified", group.clarify),
                          ("low confidence", group.low)) if count)
        print(f"\n{n:>3}. {group.count}x from {_n(len(group.users), 'user')} ({what})"
              f"  {group.example}")
        print(f"     best guesses: {_guesses(guess) or '(nothing understood)'}")
        for text, count in group.variants.most_common()[1 : 1 + SHOWN_VARIANTS]:
            print(f"     {count}x {text}")
        hidden = len(group.variants) - 1 - SHOWN_VARIANTS
        if hidden > 0:
            print(f"     ... and {hidden} more variants")
    if args.export is not None:
        written, known = write_export(Path(args.export), groups, guesses, days=args.days)
        note = f" ({known} already in the example set left out)" if known else ""
        print(f"\nexported {written} texts in {len(groups)} groups to {args.export}{note}")
        if Path(args.export).suffix != ".yml":
            print("note: the example loader reads *.yml files only; rename it when you move"
                  " it into knowledge/data/nlu/examples/")
    return 0


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _yaml_text(text: str) -> str:
    """One example as a YAML double-quoted scalar that :func:`parse_annotated` reads back
    as the same text: a ``](`` (which would start an annotation) gets a space."""
    return json.dumps(text.replace("](", "] ("), ensure_ascii=False)


@functools.lru_cache(maxsize=1)
def known_examples() -> frozenset[str]:
    """The example set's texts as :func:`split_key` compares them (read once a process)."""
    from wxloan.handlers.nlu.examples import ExamplesError, load_examples, split_key

    try:
        return frozenset(split_key(e.text) for e in load_examples())
    except ExamplesError:
        return frozenset()  # no usable example set here: nothing to leave out


def write_export(
    path: Path, groups: Sequence[Group], guesses: Sequence[Sequence[tuple[str, float]]],
    *, days: float,
) -> tuple[int, int]:
    """Write :func:`export_text` to ``path``. Returns (written, known)."""
    text, written, known = export_text(groups, guesses, days=days)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"--export: cannot write {path} ({exc.strerror})") from None
    return written, known


def export_text(
    groups: Sequence[Group], guesses: Sequence[Sequence[tuple[str, float]]],
    *, days: float, source: str = "wxloan nlu review",
) -> tuple[str, int, int]:
    """``groups`` as an example file (``version: 1``, one ``intents`` entry per group, its
    intent the best guess marked ``# TODO: check``); texts already in the example set are
    left out (the loader rejects duplicates). Returns (text, written, known).
    """
    from wxloan.handlers.nlu.evaluation import NONE
    from wxloan.handlers.nlu.examples import split_key

    seen = set(known_examples())
    today = dt.date.today().isoformat()
    lines = [
        f"# Exported by `{source} --days {days:g}` on {today}: messages that fell to",
        "# the fallback or were read with low confidence, grouped by similarity (texts masked).",
        "# Each group's intent is the model's best guess (TODO: check): correct it, or delete",
        "# the entry or the examples that are no real question, add slot annotations such as",
        "# [680](pay_score) or [surface](overdue:none), then move this file (as *.yml) into",
        "# knowledge/data/nlu/examples/, retrain (`wxloan nlu train`) and run `wxloan nlu test`.",
        "version: 1",
        "intents:",
    ]
    written = known = 0
    for n, (group, guess) in enumerate(zip(groups, guesses, strict=True), 1):
        texts = []
        for text, _ in group.variants.most_common():
            key = split_key(text.replace("](", "] ("))
            if key in seen or not key:
                known += key in seen and bool(key)
                continue
            seen.add(key)
            texts.append(text)
        if not texts:
            continue
        intent = guess[0][0] if guess else NONE
        lines.append(f"  # group {n}: {_n(group.count, 'message')} from"
                     f" {_n(len(group.users), 'user')}; best guesses:"
                     f" {_guesses(guess) or '(nothing understood)'}")
        lines.append(f"  - intent: {intent}  # TODO: check")
        lines.append("    examples:")
        lines.extend(f"      - {_yaml_text(text)}" for text in texts)
        written += len(texts)
    if not written:
        lines[-1] = "intents: []"
    return "\n".join(lines) + "\n", written, known
