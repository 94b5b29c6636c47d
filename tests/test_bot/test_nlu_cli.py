"""``wxloan nlu test`` and ``wxloan nlu review``, and the log ``meta`` they rest on."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from wxloan.bot.cli import main
from wxloan.bot.nlu_tools import best_guesses, group_messages, normalise
from wxloan.handlers import load_services
from wxloan.handlers.nlu import Understander, Understanding
from wxloan.handlers.nlu.examples import is_test, load_examples, split
from wxloan.storage import LoggedMessage, OutboundRecord, Session, TurnRecord, open_store
from tests.conftest import rows

pytestmark = pytest.mark.usefixtures("clean_env", "restore_logging")

ID_NUMBER = "11010119900307123X"
MOBILE = "13987654321"
DAY = 86400.0


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# -- the pipeline logs what the dialogue made of each text message ----------------------


class _Scripted:
    """The real Understander, except for two messages whose reading the test fixes: one
    the bot cannot read (the fallback) and one it reads unsure (a clarifying question)."""

    NOTHING = "嗯那个啥"
    UNSURE = "多借点行吗"

    def __init__(self) -> None:
        self.real = Understander()
        self.threshold = self.real.threshold
        self.unsure_confidence = round(self.threshold - 0.05, 2)  # below the model's threshold

    def understand(self, text: str, expecting: str | None = None) -> Understanding:
        if self.NOTHING in text:
            return Understanding(source="none")
        if text == self.UNSURE:
            c = self.unsure_confidence
            return Understanding(intents=(), confidence=c, source="model",
                                 alternatives=(("limit_raise", c), ("rates", c / 2)))
        return self.real.understand(text, expecting)


async def test_each_inbound_text_is_logged_with_what_the_dialogue_made_of_it(
    make_wechat, settings, db_path
):
    services = dataclasses.replace(load_services(), understander=_Scripted())
    wechat = await make_wechat(settings.with_overrides(expose_templates=True),
                               services=services)
    await wechat.event("user-a", "subscribe")
    replies = [await wechat.text("user-a", text) for text in
               ("你好", f"{_Scripted.NOTHING} 身份证{ID_NUMBER}", _Scripted.UNSURE)]
    logged = rows(db_path, "SELECT direction, msg_type, content, meta FROM messages ORDER BY id")
    assert [m for d, _, _, m in logged if d == "out"] == [None] * 4  # replies carry none
    inbound = [(t, c, m) for d, t, c, m in logged if d == "in"]
    event_meta = json.loads(inbound[0][2])
    assert inbound[0][0] == "event" and "intent" not in event_meta  # a turn record only
    turn_keys = {"flow", "step", "verdict", "scam", "handoff", "error", "ms", "late"}
    assert set(event_meta) == turn_keys
    # what the dialogue made of each text; the turn record (stats, dashboard) beside it
    metas = [{k: v for k, v in json.loads(m).items() if k not in turn_keys}
             for _, _, m in inbound[1:]]

    assert "greeting" in replies[0].templates
    assert metas[0] == {"intent": "greeting", "confidence": 1.0, "source": "rules",
                        "fallback": False, "clarify": False}
    assert "not_understood" in replies[1].templates
    assert metas[1] == {"intent": None, "confidence": 1.0, "source": "none",
                        "fallback": True, "clarify": False}
    assert ID_NUMBER not in inbound[2][1] and "110101********123X" in inbound[2][1]
    assert "clarify" in replies[2].templates
    unsure = services.understander.unsure_confidence
    assert metas[2] == {"intent": None, "confidence": unsure, "source": "model",
                        "fallback": False, "clarify": True}


# -- nlu test ---------------------------------------------------------------------------

#: held-out (is_test) and training examples; the held-out ones are checked below.
HELD_OUT = {
    "在吗": "greeting",
    "多谢": "thanks",
    "谢谢你": "thanks",
    "我要人工": "human",
    "[上班族](identity:employee)": "none",
    "[两次](inquiries_3m)查询": "none",
    "利息咋算的": "rates",
}
TRAINING = {"你好": "greeting", "谢谢": "thanks", "转人工": "human", "微粒贷利率多少": "rates"}


def _example_set(root: Path, held_out: dict[str, str] = HELD_OUT) -> Path:
    directory = root / "examples"
    directory.mkdir()
    by_intent: dict[str, list[str]] = {}
    for line, intent in {**held_out, **TRAINING}.items():
        by_intent.setdefault(intent, []).append(line)
    body = ["version: 1", "intents:"]
    for intent, lines in by_intent.items():
        body += [f"  - intent: {intent}", "    examples:"]
        body += [f"      - {json.dumps(line, ensure_ascii=False)}" for line in lines]
    (directory / "set.yml").write_text("\n".join(body) + "\n", encoding="utf-8")
    return directory


def _thresholds(root: Path, accuracy: float = 0.0, slots: str = "identity = 0.0") -> Path:
    path = root / "thresholds.toml"
    path.write_text(f"intent_accuracy = {accuracy}\nmacro_f1 = 0.0\nmax_fallback = 1.0\n"
                    f"confidence = 0.5\n[slot_f1]\n{slots}\n", encoding="utf-8")
    return path


def test_the_fixture_split_is_what_the_tests_assume(tmp_path):
    examples = load_examples(_example_set(tmp_path))
    train, test = split(examples)
    assert {e.annotated for e in test} == set(HELD_OUT)
    assert {e.text for e in train} == set(TRAINING)
    assert all(is_test(e.text) for e in test)


def test_nlu_test_prints_the_scores_and_exits_0_when_they_meet_the_thresholds(
    tmp_path, capsys
):
    examples = _example_set(tmp_path)
    code, out, err = _run(capsys, "nlu", "test", "--examples", str(examples),
                          "--thresholds", str(_thresholds(tmp_path)))
    assert code == 0, out + err
    assert out.startswith(f"held-out examples {len(HELD_OUT)} of {len(HELD_OUT) + len(TRAINING)}")
    for heading in ("intent accuracy", "macro-F1", "fallback rate", "slot micro-F1",
                    "intent               precision  recall     f1  support",
                    "slot                   precision"):
        assert heading in out
    assert "thanks" in out and "identity" in out and "inquiries_3m" in out
    assert out.rstrip().splitlines()[-1].startswith("PASS: every score meets its threshold")


def test_nlu_test_exits_1_naming_each_score_below_and_lists_the_misses(tmp_path, capsys):
    mislabelled = {**HELD_OUT, "在吗": "rates"}  # 在吗 is no question about rates
    examples = _example_set(tmp_path, mislabelled)
    thresholds = _thresholds(tmp_path, accuracy=1.0, slots="identity = 0.0\ndaily_rate = 0.9")
    code, out, _ = _run(capsys, "nlu", "test", "--examples", str(examples),
                        "--thresholds", str(thresholds))
    assert code == 1
    last = out.rstrip().splitlines()[-1]
    assert last.startswith("FAIL: intent accuracy ")
    assert "< 1.0" in last and "slot daily_rate: no held-out example annotates it" in last
    assert "misclassified (" in out
    miss = next(line for line in out.splitlines() if line.endswith("  在吗"))
    assert "set.yml:" in miss and "rates -> " in miss


def test_nlu_test_report_writes_the_page_and_the_confusion_matrix(tmp_path, capsys):
    examples = _example_set(tmp_path, {**HELD_OUT, "在吗": "rates"})
    report = tmp_path / "report" / "nested"
    code, out, _ = _run(capsys, "nlu", "test", "--examples", str(examples),
                        "--thresholds", str(_thresholds(tmp_path)), "--report", str(report))
    assert code == 0
    assert f"report: {report / 'index.html'}" in out
    svg = ET.parse(report / "confusion.svg").getroot()  # well-formed, standalone
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    texts = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")]
    for label in ("greeting", "thanks", "human", "rates", "none"):
        assert texts.count(label) == 2  # a row and a column
    tips = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}title")]
    assert any(tip.startswith("rates read as ") for tip in tips)
    page = (report / "index.html").read_text(encoding="utf-8")
    assert '<img src="confusion.svg"' in page
    for part in ("intent accuracy", "macro-F1", "fallback rate", "Per intent", "Slots",
                 "Confusion matrix", "Misclassified (", "在吗", "PASS"):
        assert part in page, part


def test_nlu_test_escapes_example_text_in_the_page(tmp_path, capsys):
    text = "<script>x</script>利息多少"
    assert is_test(text)  # held out, so the page lists it (as a miss: labelled greeting)
    examples = _example_set(tmp_path, {**HELD_OUT, text: "greeting"})
    code, _, _ = _run(capsys, "nlu", "test", "--examples", str(examples), "--thresholds",
                      str(_thresholds(tmp_path)), "--report", str(tmp_path / "r"))
    assert code == 0
    page = (tmp_path / "r" / "index.html").read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;script&gt;x&lt;/script&gt;利息多少" in page


@pytest.mark.parametrize("broken", ["thresholds", "examples"])
def test_nlu_test_on_bad_configuration_exits_2_with_one_line(tmp_path, capsys, broken):
    examples = _example_set(tmp_path)
    thresholds = _thresholds(tmp_path)
    if broken == "thresholds":
        thresholds.write_text("intent_accuracy = 2\n", encoding="utf-8")
    else:
        (examples / "set.yml").write_text(
            "version: 1\nintents:\n  - intent: ratez\n    examples: [a]\n", encoding="utf-8"
        )
    code, out, err = _run(capsys, "nlu", "test", "--examples", str(examples),
                          "--thresholds", str(thresholds))
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("wxloan: configuration error: ")
    assert ("thresholds.toml" if broken == "thresholds" else "set.yml:3") in err


def test_nlu_test_on_the_project_examples_meets_the_floor(capsys):
    """CI's gate: the held-out scores of the real example set meet floor.toml (today's
    scores less a point; issue 13's targets in thresholds.toml are not met yet)."""
    floor = Path(__file__).resolve().parents[2] / "knowledge" / "data" / "nlu" / "floor.toml"
    code, out, _ = _run(capsys, "nlu", "test", "--thresholds", str(floor))
    assert code == 0, "\n".join(
        line for line in out.splitlines()
        if line.startswith(("intent accuracy", "macro-F1", "fallback", "FAIL"))
    )


# -- nlu review -------------------------------------------------------------------------

SURE = {"intent": "rates", "confidence": 1.0, "source": "rules", "fallback": False,
        "clarify": False}
FELL = {"intent": None, "confidence": 1.0, "source": "none", "fallback": True,
        "clarify": False}
UNSURE = {"intent": "limit_raise", "confidence": 0.41, "source": "model", "fallback": False,
          "clarify": True}


async def _log(path: Path, messages: list[tuple[str, str, dict | None, float]]) -> None:
    """A message log as the pipeline writes it: (openid, text, meta, days ago)."""
    store = await open_store(path)
    now = time.time()
    versions: dict[str, int | None] = {}
    try:
        for n, (openid, text, meta, days_ago) in enumerate(messages):
            commit = await store.finish_turn(TurnRecord(
                msg_key=f"{openid}-{n}-{days_ago}", openid=openid, now=now - days_ago * DAY, inbound_type="text",
                inbound_content=text, reply='{"kind": "text", "text": "答"}',
                outbound=(OutboundRecord("text", "答"),), session=Session(openid),
                expected_version=versions.get(openid), inbound_meta=meta,
            ))
            versions[openid] = commit.version
    finally:
        await store.close()


TRAFFIC = [
    ("u1", "怎么才能多借点", UNSURE, 1),
    ("u2", "怎么才能多借点", UNSURE, 2),
    ("u3", "怎么才能多借点啊", FELL, 1),
    ("u4", "怎样才能多借点", UNSURE, 3),
    ("u1", "要不要刷个脸啊", FELL, 1),
    ("u5", "要不要刷个脸啊？", FELL, 2),
    ("u6", f"我的身份证{ID_NUMBER}手机{MOBILE}能借吗", FELL, 1),
    ("u7", "微粒贷利率多少", SURE, 1),  # understood: not reviewed
    ("u8", "上个月的老问题", FELL, 10),  # older than 7 days
    ("u9", "那个[微笑](呢", FELL, 1),  # looks like an annotation
]


@pytest.fixture
def traffic(db_path, monkeypatch) -> Path:
    asyncio.run(_log(db_path, TRAFFIC))
    monkeypatch.setenv("WXLOAN_DB", str(db_path))
    return db_path


def _review(capsys, tmp_path: Path, *argv: str) -> tuple[int, str, str]:
    """``nlu review`` with a confidence threshold of 0.5 (not the model's, which moves)."""
    thresholds = _thresholds(tmp_path)
    assert "confidence = 0.5" in thresholds.read_text(encoding="utf-8")
    return _run(capsys, "nlu", "review", "--thresholds", str(thresholds), *argv)


def _groups(out: str) -> list[str]:
    return [line for line in out.splitlines() if line[:4].strip().rstrip(".").isdigit()]


def test_review_groups_near_duplicates_by_count_with_the_best_guesses(
    traffic, capsys, tmp_path
):
    code, out, err = _review(capsys, tmp_path)
    assert code == 0, err
    first = out.splitlines()[0]
    assert first.startswith("8 messages in the last 7 days") and "4 groups" in first
    groups = _groups(out)
    assert groups[0].startswith("  1. 4x from 4 users (fallback 1, clarified 3, low confidence 3)")
    assert groups[0].endswith("怎么才能多借点")
    assert groups[1].startswith("  2. 2x from 2 users (fallback 2)")
    assert groups[1].endswith(("要不要刷个脸啊", "要不要刷个脸啊？"))
    assert "微粒贷利率多少" not in out  # understood with confidence: not for review
    block = out.split("  2. ")[0]
    assert "     1x 怎么才能多借点啊" in block and "     1x 怎样才能多借点" in block
    nlu = Understander()
    guesses = best_guesses(nlu.understand("怎么才能多借点"))
    shown = ", ".join(f"{i} {p:.2f}" for i, p in guesses) or "(nothing understood)"
    assert f"     best guesses: {shown}" in block


def test_review_days_filters_by_when_the_message_came(traffic, capsys, tmp_path):
    _, week, _ = _review(capsys, tmp_path, "--days", "7")
    _, month, _ = _review(capsys, tmp_path, "--days", "30")
    _, day, _ = _review(capsys, tmp_path, "--days", "1.5")
    assert "上个月的老问题" not in week and "上个月的老问题" in month
    assert month.startswith("9 messages in the last 30 days")
    assert day.startswith("5 messages in the last 1.5 days")


def test_review_never_shows_a_raw_personal_number(traffic, capsys, tmp_path):
    export = tmp_path / "review.yml"
    code, out, _ = _review(capsys, tmp_path, "--export", str(export))
    assert code == 0
    written = export.read_text(encoding="utf-8")
    for shown in (out, written):
        assert ID_NUMBER not in shown and MOBILE not in shown
        assert "110101********123X" in shown and "139****4321" in shown


def test_review_export_round_trips_through_the_example_loader(traffic, capsys, tmp_path):
    folder = tmp_path / "labelled"
    export = folder / "review.yml"
    code, out, _ = _review(capsys, tmp_path, "--export", str(export))
    assert code == 0
    assert f"exported 7 texts in 4 groups to {export}" in out
    text = export.read_text(encoding="utf-8")
    assert text.count("# TODO: check") == 4
    loaded = load_examples(folder)
    assert {e.text for e in loaded} == {
        "怎么才能多借点", "怎么才能多借点啊", "怎样才能多借点", "要不要刷个脸啊", "要不要刷个脸啊？",
        f"我的身份证110101********123X手机139****4321能借吗", "那个[微笑] (呢",
    }
    nlu = Understander()
    for e in loaded:
        if e.text.startswith("怎"):
            guess = best_guesses(nlu.understand("怎么才能多借点"))
            assert e.intent == (guess[0][0] if guess else "none")
    # a person relabels the first group: the file still loads, with the new label
    edited = text.replace(f"intent: {loaded[0].intent}  # TODO: check",
                          "intent: limit_raise", 1)
    export.write_text(edited, encoding="utf-8")
    relabelled = load_examples(folder)
    assert {e.intent for e in relabelled if e.text.startswith("怎")} == {"limit_raise"}


def test_review_export_leaves_out_texts_already_in_the_example_set(traffic, capsys, tmp_path):
    known = {e.text for e in load_examples()}
    assert "要不要刷个脸啊" not in known  # else this test proves nothing; pick another text
    asyncio.run(_log(traffic, [("u10", sorted(known)[0], FELL, 1)]))
    export = tmp_path / "review.yml"
    code, out, _ = _review(capsys, tmp_path, "--export", str(export))
    assert code == 0 and "(1 already in the example set left out)" in out
    assert sorted(known)[0] not in {e.text for e in load_examples(tmp_path)}


def test_review_with_nothing_to_review_exports_an_empty_example_file(
    db_path, monkeypatch, capsys, tmp_path
):
    asyncio.run(_log(db_path, [("u1", "微粒贷利率多少", SURE, 1)]))
    export = tmp_path / "empty.yml"
    code, out, _ = _review(capsys, tmp_path, "--db", str(db_path), "--export", str(export))
    assert code == 0 and out.startswith("0 messages in the last 7 days")
    assert load_examples(tmp_path) == []


def test_review_without_a_database_or_before_migration_5_exits_2(tmp_path, capsys):
    code, out, err = _review(capsys, tmp_path, "--db", str(tmp_path / "typo.db"))
    assert (code, out) == (2, "")
    assert err == f"wxloan: configuration error: WXLOAN_DB / --db: no database at {tmp_path / 'typo.db'}\n"
    assert not (tmp_path / "typo.db").exists()

    from sqlite_utils import Database

    from wxloan.storage.migrations import migrations

    old = tmp_path / "old.db"
    database = Database(old)
    migrations.apply(database, stop_before="0005_message_meta")
    database.close()
    code, out, err = _review(capsys, tmp_path, "--db", str(old))
    assert code == 2 and len(err.strip().splitlines()) == 1 and "0005_message_meta" in err
    code, _, err = _review(capsys, tmp_path, "--db", str(old), "--days", "0")
    assert code == 2 and "--days must be more than 0" in err


def test_grouping_is_greedy_on_normalised_text_most_frequent_first():
    def logged(n: int, text: str, openid: str = "u") -> LoggedMessage:
        return LoggedMessage(n, openid, text, 0.0, dict(FELL))

    assert normalise("支付分 680，能借多少？") == normalise("支付分590能借多少") == "支付分0能借多少"
    groups = group_messages([
        logged(1, "额度怎么提"), logged(2, "额度怎么提高呀"), logged(3, "额度怎么提高呀"),
        logged(4, "要不要刷个脸啊"), logged(5, "   "),
    ], confidence=0.5)
    assert [(g.example, g.count, sorted(g.variants)) for g in groups] == [
        ("额度怎么提高呀", 3, ["额度怎么提", "额度怎么提高呀"]),
        ("要不要刷个脸啊", 1, ["要不要刷个脸啊"]),
    ]
    # only the most frequent distinct texts are compared: the rarer ones stay apart
    capped = group_messages([
        logged(1, "额度怎么提高呀"), logged(2, "额度怎么提高呀"), logged(3, "额度怎么提"),
    ], confidence=0.5, cluster_at_most=1)
    assert [(g.example, g.count) for g in capped] == [("额度怎么提高呀", 2), ("额度怎么提", 1)]
