"""The labelled example set loads strictly, and the held-out split is computed."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from wxloan.handlers.nlu.examples import (
    EXAMPLE_INTENTS,
    Example,
    ExamplesError,
    examples_digest,
    is_test,
    load_examples,
    parse_annotated,
    split,
    split_key,
)
from wxloan.handlers.nlu.model import INTENT_IDS

FIXTURE = Path(__file__).parent / "nlu_fixture" / "examples"
SHIPPED = Path(__file__).resolve().parents[2] / "knowledge" / "data" / "nlu" / "examples"


def _write(tmp_path: Path, body: str, name: str = "a.yml") -> Path:
    (tmp_path / name).write_text("version: 1\nintents:\n" + body, encoding="utf-8")
    return tmp_path


def test_fixture_loads_in_file_then_line_order() -> None:
    got = load_examples(FIXTURE)
    assert [(e.file, e.line) for e in got][:3] == [
        ("dialogue.yml", 5),
        ("dialogue.yml", 8),
        ("dialogue.yml", 9),
    ]
    assert [e.intent for e in got] == [
        "greeting",
        "none",
        "none",
        "rates",
        "rates",
        "rates",
        "rates",
        "limit_raise",
        "limit_raise",
    ]


def test_annotations_are_removed_and_become_slots() -> None:
    by_text = {e.text: e for e in load_examples(FIXTURE)}
    e = by_text["支付分680能借多少利息"]
    assert (e.intent, e.slots) == ("rates", {"pay_score": "680"})
    facts = by_text["我没有逾期，有社保有房"]
    assert facts.slots == {"overdue": "none", "materials": "social_security,property"}
    assert by_text["借一万分12期"].slots == {"amount": "一万", "months": "12期"}
    assert by_text["支付分620到650利息多少"].slots == {"pay_score": "620,650"}
    assert by_text["上班族怎么提额"].slots == {"identity": "employee"}
    assert by_text["徽粒贷利息高不高[捂脸]"].slots == {}


def test_parse_annotated_keeps_positions() -> None:
    text, spans = parse_annotated("支付分[680](pay_score)，[没逾期](overdue:none)")
    assert text == "支付分680，没逾期"
    assert [(a.slot, a.value, text[a.start : a.end]) for a in spans] == [
        ("pay_score", None, "680"),
        ("overdue", "none", "没逾期"),
    ]


def test_a_number_slot_may_state_its_number() -> None:
    text, spans = parse_annotated("[上个月](rejected_days_ago:30)被拒的")
    assert (text, spans[0].value) == ("上个月被拒的", "30")


def test_a_sticker_is_text_not_markup() -> None:
    assert parse_annotated("好的[微笑]") == ("好的[微笑]", ())


@pytest.mark.parametrize("line", ["[680]()", "[680](pay_score:)", "[x](y)(z)]("])
def test_parse_annotated_rejects_broken_markup(line: str) -> None:
    with pytest.raises(ExamplesError):
        parse_annotated(line)


def test_intent_ids_are_the_models_plus_none() -> None:
    assert EXAMPLE_INTENTS == (*INTENT_IDS, "none")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("  - intent: rate\n    examples:\n      - 利率多少\n", "a.yml:3: unknown intent 'rate'"),
        (
            "  - intent: rates\n    examples:\n      - 支付分[680](payscore)利率\n",
            "a.yml:5: unknown slot 'payscore'",
        ),
        (
            "  - intent: none\n    examples:\n      - 我[没逾期](overdue:never)\n",
            "a.yml:5: overdue:never is not one of current, none, past",
        ),
        (
            "  - intent: none\n    examples:\n      - 我[没逾期](overdue)\n",
            "a.yml:5: slot 'overdue' needs a value",
        ),
        (
            "  - intent: none\n    examples:\n      - 支付分[680](pay_score:high)\n",
            "a.yml:5: number slot 'pay_score' takes the surface, or a number",
        ),
        (
            "  - intent: none\n    examples:\n      - 我[没逾期](overdue:none)[逾期过](overdue:past)\n",
            "a.yml:5: slot 'overdue' annotated twice",
        ),
        (
            "  - intent: rates\n    examples:\n      - 利率多少\n      - 利率 多少\n",
            "a.yml:6: duplicate example '利率 多少' (first at a.yml:5)",
        ),
        ("  - intent: rates\n    examples:\n      - [680](pay_score)\n", "a.yml:5: invalid YAML"),
        ("  - intent: rates\n    examples:\n      - [680, 1]\n", "a.yml:5: expected a single"),
        ("  - intent: rates\n    exemples:\n      - 利率\n", "a.yml:3: unknown keys"),
        ('  - intent: rates\n    examples:\n      - ""\n', "a.yml:5: empty example"),
        ("  - intent: rates\n    examples: [\n", "a.yml:"),
    ],
)
def test_bad_examples_name_file_and_line(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ExamplesError) as err:
        load_examples(_write(tmp_path, body))
    assert message in str(err.value)


def test_duplicates_across_files_are_errors(tmp_path: Path) -> None:
    _write(tmp_path, "  - intent: rates\n    examples:\n      - 利率多少\n", "a.yml")
    _write(tmp_path, "  - intent: channels\n    examples:\n      - 利率多少\n", "b.yml")
    with pytest.raises(ExamplesError, match=r"b\.yml:5: duplicate .*first at a\.yml:5"):
        load_examples(tmp_path)


def test_version_is_required(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text("intents: []\n", encoding="utf-8")
    with pytest.raises(ExamplesError, match="a.yml:1: 'version: 1' is required"):
        load_examples(tmp_path)


def test_missing_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ExamplesError, match="no example directory"):
        load_examples(tmp_path / "nope")


def test_split_is_the_sha1_rule() -> None:
    examples = load_examples(FIXTURE)
    train, test = split(examples)
    assert len(train) + len(test) == len(examples)
    for e in examples:
        expected = int(hashlib.sha1(split_key(e.text).encode()).hexdigest(), 16) % 5 == 0
        assert (e in test) is expected
    # the key ignores width, case and spacing, so near-duplicates never straddle the split
    assert split_key("ＷＬＤ 利率") == "wld利率"
    assert is_test("ＷＬＤ 利率") == is_test("wld利率")


def test_split_holds_out_about_a_fifth() -> None:
    texts = [f"example {i}" for i in range(2000)]
    held = sum(is_test(t) for t in texts)
    assert 300 < held < 500


def test_digest_depends_on_labels_and_texts_only() -> None:
    a = Example("利率多少", "rates", {}, "a.yml", 3)
    b = Example("在吗", "greeting", {}, "b.yml", 9)
    moved = Example("利率多少", "rates", {}, "c.yml", 40)
    relabelled = Example("利率多少", "channels", {}, "a.yml", 3)
    assert examples_digest([a, b]) == examples_digest([b, moved])
    assert examples_digest([a, b]) != examples_digest([relabelled, b])


def test_shipped_examples_load() -> None:
    examples = load_examples()
    assert {e.file for e in examples} == {p.name for p in SHIPPED.glob("*.yml")}
    assert len(examples) >= 1500
