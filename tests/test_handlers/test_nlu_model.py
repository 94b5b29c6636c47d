"""The intent model: the runtime repeats scikit-learn's arithmetic, the artifact is current
and reproducible, serving never imports scikit-learn, and the rules and the model combine
as handlers/nlu/understander.py documents."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from wxloan.handlers.nlu import Understander
from wxloan.handlers.nlu.understander import SCAM_FROM
from wxloan.handlers.nlu.classifier import (
    Classifier,
    ModelError,
    default_model_path,
    features,
    rule_tags,
)
from wxloan.handlers.nlu.examples import examples_digest, load_examples, split

FIXTURE = Path(__file__).parent / "nlu_fixture" / "examples"


def _artifact(rows: list[list[Any]], classes: list[str], threshold: float = 0.5) -> dict[str, Any]:
    return {
        "format": 1,
        "examples_sha256": "test",
        "features": {"ngram_range": [1, 2], "length": False},
        "classes": classes,
        "threshold": threshold,
        "intercepts": [0.0] * len(classes),
        "rows": rows,
    }


#: A hand-made model: 额 means limit_raise, 利 means rates, 社保 means none (facts);
#: it knows nothing for rejection.
TOY = Classifier(
    _artifact(
        [
            ["额", 1.0, [0.0, 0.0, 6.0, 0.0]],
            ["利", 1.0, [0.0, 6.0, 0.0, 0.0]],
            ["社保", 1.0, [6.0, 0.0, 0.0, 0.0]],
        ],
        ["none", "rates", "limit_raise", "rejection"],
    )
)


def test_features_are_padded_char_ngrams_plus_tags() -> None:
    assert features("提额", 1, 2, ("rule:top=limit_raise",), length=False) == [
        "提", "额", " 提", "提额", "额 ", "rule:top=limit_raise",
    ]
    assert features("提额", 1, 1)[-1] == "length:1-2"


def test_numbers_become_one_placeholder() -> None:
    read = Understander(model=False).model_input
    assert read("支付分680") == read("支付分590") == "支付分0"
    assert read("借两万分12期") == "借0分0期"
    assert read("年化7.2%") == "年化0"
    assert read("等一下") == "等一下"  # a lone numeral character is a word, not a number
    assert read("ＷＥ２０００") == "we0"  # normalised first


def test_rule_tags_say_what_the_rules_read() -> None:
    tags = rule_tags(
        ("rejection", "why"), {"rejected_before": True}, scam=False, yes_no=False, choice=False,
        negated=True,
    )
    assert tags == (
        "rule:intent=rejection", "rule:intent=why", "rule:top=rejection",
        "rule:slot=rejected_before", "rule:negated",
    )
    assert rule_tags((), {}, scam=False, yes_no=True, choice=False, negated=False) == (
        "rule:no_intent", "rule:yes_no",
    )


def test_runtime_matches_scikit_learn() -> None:
    from wxloan.handlers.nlu import training

    examples = load_examples(FIXTURE)
    reader = Understander(model=False)
    docs = training.docs_of(examples, reader)
    labels = [e.intent for e in examples]
    cand = training.candidate(training.CHOSEN)
    vec, est = training._fit(cand, docs, labels)
    clf = Classifier(training.export(vec, est, 0.5, "x", {}))
    expected = est.predict_proba(vec.transform(docs))
    for doc, row in zip(docs, expected, strict=True):
        got = clf.predict(doc[0], doc[1], top=len(clf.classes))
        for intent, p in zip(est.classes_, row, strict=True):
            assert got.probability(str(intent)) == pytest.approx(p, abs=2e-3)


def test_a_rebuild_is_byte_identical() -> None:
    from wxloan.handlers.nlu import training

    examples = load_examples(FIXTURE)
    reader = Understander(model=False)
    first = training.dump_artifact(training.build_artifact(examples, reader))
    assert training.dump_artifact(training.build_artifact(examples, reader)) == first
    parsed = json.loads(first)
    assert parsed["examples_sha256"] == examples_digest(split(examples)[0])
    assert parsed["rows"] == sorted(parsed["rows"], key=lambda r: r[0])


def test_the_shipped_artifact_was_fit_on_the_shipped_examples() -> None:
    train, _ = split(load_examples())
    assert Classifier.load().examples_sha256 == examples_digest(train), (
        "the examples changed: run python -m wxloan.handlers.nlu.training"
    )


def test_the_shipped_model_knows_every_label_and_a_threshold() -> None:
    model = Classifier.load()
    labels = {e.intent for e in split(load_examples())[0]}
    assert set(model.classes) == labels
    assert 0.0 < model.threshold < 1.0
    assert Understander().threshold == model.threshold


@pytest.mark.parametrize(
    ("artifact", "message"),
    [
        ({"format": 2}, "model format must be 1"),
        ({"format": 1}, "malformed model artifact"),
        (_artifact([["a", 1.0, [0.0]]], ["x", "y"]), "model shapes disagree"),
        (_artifact([["a", 1.0, [0.0]], ["a", 1.0, [0.0]]], ["x"]), "duplicate n-gram"),
    ],
)
def test_a_malformed_artifact_is_an_error(artifact: dict[str, Any], message: str) -> None:
    with pytest.raises(ModelError, match=message):
        Classifier(artifact)


def test_a_missing_artifact_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="cannot read the intent model"):
        Classifier.load(tmp_path / "model.json")
    with pytest.raises(ModelError, match="cannot read the intent model"):
        Understander(model=tmp_path / "model.json")


def test_no_known_feature_gives_the_prior() -> None:
    assert TOY.predict("zzz").ranked[0][1] == pytest.approx(1 / 4)


def test_serving_never_imports_scikit_learn() -> None:
    code = (
        "import sys; from wxloan.bot.app import create_app; "
        "from wxloan.handlers.nlu import Understander; "
        "u = Understander(); u.understand('怎样才能多借点'); "
        "assert u.model is not None; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sklearn', 'scipy')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


# -- the combination --------------------------------------------------------------------

NLU = Understander(model=TOY)


def test_without_a_rule_the_model_decides_and_offers_alternatives() -> None:
    u = Understander().understand("怎么才能多借点")  # no rule reads an intent here
    assert Understander(model=False).understand("怎么才能多借点").intents == ()
    assert (u.intent, u.source) == ("limit_raise", "model")
    assert u.confidence == pytest.approx(u.alternatives[0][1])
    assert u.confidence >= Understander().threshold


def test_an_unsure_model_acts_on_nothing_but_keeps_its_readings() -> None:
    u = NLU.understand("随便说说")  # no n-gram the toy knows: its prior, 0.25 < 0.5
    assert u.intents == () and u.source == "model" and u.confidence < NLU.threshold
    assert len(u.alternatives) == 3  # the dialogue asks which was meant


def test_the_models_none_means_facts_only() -> None:
    u = NLU.understand("有社保")
    assert (u.intents, u.source) == ((), "model")
    assert u.slots["materials"] == ["social_security"]


def test_the_rules_other_intents_follow_the_models_choice() -> None:
    rules = Understander(model=False).understand("利率多少，借1万12期")
    assert "calculator" in rules.intents
    u = NLU.understand("利率多少，借1万12期")
    assert u.intents[0] in ("rates", rules.intents[0])
    assert "calculator" in u.intents and len(set(u.intents)) == len(u.intents)


@pytest.mark.parametrize(
    ("text", "expecting", "intent"),
    [
        ("有人让我先交保证金才放款", None, "scam"),  # a scam pattern
        ("3", None, "menu_choice"),  # a menu number
        ("你好", None, "greeting"),  # a whole-message exact phrase
        ("菜单", None, "help"),
    ],
)
def test_sure_rules_stand_without_the_model(
    text: str, expecting: str | None, intent: str
) -> None:
    u = NLU.understand(text, expecting)
    assert (u.intent, u.source, u.confidence) == (intent, "rules", 1.0)


def test_a_bare_answer_to_the_question_is_the_rules_reading() -> None:
    u = NLU.understand("六百八", expecting="pay_score")
    assert (u.intents, u.source, u.slots["pay_score"]) == ((), "rules", 680)
    assert u.alternatives == ()


def test_a_sure_model_leads_and_the_rules_intent_follows() -> None:
    sure_limit = Classifier(
        _artifact([["评分", 1.0, [0.0, 0.0, 40.0]]], ["none", "rejection", "limit_raise"])
    )
    u = Understander(model=sure_limit).understand("综合评分不足")
    assert (u.intents, u.source) == (("limit_raise", "rejection"), "model")


def _scammy(weight: float) -> Classifier:
    """A toy that reads 到账 as scam_aftermath with a chosen strength."""
    return Classifier(
        _artifact([["到账", 1.0, [weight, 0.0, 0.0]]], ["scam_aftermath", "none", "rates"],
                  threshold=0.1)
    )


def test_a_model_scam_reading_counts_only_from_scam_from() -> None:
    unsure = Understander(model=_scammy(0.5)).understand("钱已经到账了")  # p ~ 0.45
    assert "scam_aftermath" not in unsure.intents
    assert all(i != "scam_aftermath" for i, _ in unsure.alternatives)
    sure = Understander(model=_scammy(9.0)).understand("钱已经到账了")
    assert sure.intents[0] == "scam_aftermath" and sure.source == "model"
    assert SCAM_FROM == 0.5


def test_where_the_rules_saw_a_scam_the_model_tells_whether_it_is_done() -> None:
    text = "有人让我先交保证金才放款"
    assert Understander(model=False).understand(text).intents[0] == "scam"
    done = Classifier(
        _artifact([["保证", 1.0, [9.0, 0.0, 0.0]]], ["scam_aftermath", "scam", "none"])
    )
    u = Understander(model=done).understand(text)
    assert (u.intents[0], u.source) == ("scam_aftermath", "rules") and u.scam_patterns
    assert NLU.understand(text).intents[0] == "scam"  # the toy knows nothing of it


def test_rules_alone_never_consult_a_model() -> None:
    u = Understander(model=False).understand("怎样才能多借点")
    assert (u.source, u.confidence, u.alternatives) == ("rules", 1.0, ())


def test_wxloan_nlu_train_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from wxloan.bot.cli import main

    assert main(["nlu", "train", "--check"]) == 0
    stale = tmp_path / "model.json"
    stale.write_text(
        default_model_path().read_text(encoding="utf-8").replace(
            Classifier.load().examples_sha256, "0" * 64
        ),
        encoding="utf-8",
    )
    assert main(["nlu", "train", "--check", "--out", str(stale)]) == 1
    assert "is stale" in capsys.readouterr().err
    assert main(["nlu", "train", "--examples", str(tmp_path / "none")]) == 2


def test_a_bare_yes_is_the_rules_reading() -> None:
    u = NLU.understand("是的")
    assert (u.intents, u.yes_no, u.source, u.alternatives) == ((), True, "rules", ())


def test_the_models_none_means_facts_only_over_a_rule_hint() -> None:
    sure_none = Classifier(
        _artifact([["钱", 1.0, [9.0, 0.0, 0.0, 0.0]]], ["none", "rates", "limit_raise", "other"])
    )
    assert Understander(model=False).understand("能借钱吗").intents
    u = Understander(model=sure_none).understand("能借钱吗")
    assert (u.intents, u.source) == ((), "model")
