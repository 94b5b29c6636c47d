"""Loading: the packaged data loads fast and whole; broken copies fail with clear messages."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from wxloan.knowledge import DataError, KnowledgeError, UnknownEntryError, load_knowledge
from wxloan.knowledge.ids import REQUIRED_ENTRY_IDS
from wxloan.knowledge.kb import KnowledgeBase
from wxloan.knowledge.loader import FILES


def test_packaged_data_loads(kb: KnowledgeBase) -> None:
    assert [p.key for p in kb.products] == ["weilidai", "we2000", "partner_bank"]
    assert [c.key for c in kb.channels] == ["wallet", "mini_program", "scene"]
    assert [t.key for t in kb.tiers] == ["prime", "standard", "subprime"]
    assert [g.grade.value for g in kb.grades] == ["A", "B", "C"]
    assert [s.number for s in kb.sections] == list(range(10))


def test_every_section_has_entries_and_every_entry_a_known_section(kb: KnowledgeBase) -> None:
    numbers = {s.number for s in kb.sections}
    assert {e.section for e in kb.entries.values()} == numbers
    for number in numbers:
        assert kb.section_entries(number), number


def test_required_ids_exist(kb: KnowledgeBase) -> None:
    assert REQUIRED_ENTRY_IDS <= kb.entries.keys()


def test_entry_lookup_and_unknown_id(kb: KnowledgeBase) -> None:
    entry = kb.entry("product.we2000")
    assert entry.section == 2
    assert "We2000" in entry.text
    assert entry.note is not None  # the 750+ tier clamp is explained
    with pytest.raises(UnknownEntryError, match="nope"):
        kb.entry("nope")
    with pytest.raises(KnowledgeError):
        kb.product("nope")
    assert [e.id for e in kb.explain(["tier.prime", "risk.purpose"])] == [
        "tier.prime",
        "risk.purpose",
    ]


def test_default_path_equals_explicit_packaged_path(kb: KnowledgeBase) -> None:
    assert load_knowledge(Path(__file__).parents[2] / "knowledge" / "data") == kb


def test_loading_is_fast() -> None:
    load_knowledge()  # warm the import and file caches
    start = time.perf_counter()
    for _ in range(5):
        load_knowledge()
    per_load = (time.perf_counter() - start) / 5
    assert per_load < 0.05, f"load took {per_load * 1000:.1f} ms"


def test_foreign_files_in_data_dir_are_ignored(data_copy: Path) -> None:
    (data_copy / "lexicon.toml").write_text("this is = = not toml", encoding="utf-8")
    (data_copy / "menu.toml").write_text("[[button]]\nname = 1\n", encoding="utf-8")
    load_knowledge(data_copy)


def _replace(file: str, old: str, new: str) -> Callable[[Path], None]:
    def edit(directory: Path) -> None:
        path = directory / file
        text = path.read_text(encoding="utf-8")
        assert old in text, f"test setup: {old!r} not in {file}"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    return edit


def _delete(file: str) -> Callable[[Path], None]:
    def edit(directory: Path) -> None:
        (directory / file).unlink()

    return edit


BROKEN = [
    pytest.param(
        _replace("products.toml", "min_pay_score = 580", 'min_pay_score = "580"'),
        "products.toml: products[1].min_pay_score: expected integer, got str",
        id="wrong-type",
    ),
    pytest.param(
        _replace("products.toml", "limit_max = 200000\n", ""),
        "products.toml: products[0].limit_max: missing",
        id="missing-field",
    ),
    pytest.param(
        _replace("channels.toml", "pass_rate_pct = 73", "pass_rate_pct = true"),
        "channels.toml: channels[1].pass_rate_pct: expected integer, got bool",
        id="bool-is-not-int",
    ),
    pytest.param(
        _replace("channels.toml", "instant = true", 'instant = "yes"'),
        "channels.toml: channels[2].instant: expected boolean, got str",
        id="wrong-bool",
    ),
    pytest.param(
        _replace("pricing.toml", "apr_max = 10.8", 'apr_max = "10.8%"'),
        "pricing.toml: tiers[0].apr_max: expected number, got str",
        id="wrong-number",
    ),
    pytest.param(
        _replace("products.toml", "apr_min = 6.9", "apr_min = 16.9"),
        "products.toml: products[2].apr_max: must be in 16.9..36, got 15",
        id="apr-min-above-max",
    ),
    pytest.param(
        _replace("limits.toml", 'name = "房产证明"', 'name = "房产证明"\nnte = "typo"'),
        "limits.toml: materials[1].nte: unexpected field",
        id="unexpected-field",
    ),
    pytest.param(
        _replace("risk.toml", 'id = "risk.inactivity"', 'id = "risk.purpose"'),
        "risk.toml: inactivity.id: duplicate id 'risk.purpose'",
        id="duplicate-id",
    ),
    pytest.param(
        _replace("rejections.toml", "section = 8\nmonths = 3", "section = 12\nmonths = 3"),
        "rejections.toml: inquiry_wait.section: unknown section 12",
        id="unknown-section",
    ),
    pytest.param(
        _replace("after_opening.toml", "periods = 6", "periods = 6 6"),
        "after_opening.toml: invalid TOML",
        id="syntax-error",
    ),
    pytest.param(_delete("channels.toml"), "channels.toml: file not found", id="missing-file"),
    pytest.param(
        _replace("pricing.toml", "max_pay_score = 749", "max_pay_score = 740"),
        "pricing.toml: tiers[1].max_pay_score: tiers must be contiguous, highest first: "
        "expected 749, got 740",
        id="tier-gap",
    ),
    pytest.param(
        _replace("limits.toml", "weight_pct = 17", "weight_pct = 18"),
        "limits.toml: factors: weights must add up to 100, got 101",
        id="weights",
    ),
    pytest.param(
        _replace("channels.toml", 'key = "scene"', 'key = "shop"'),
        "channels.toml: channels[2].key: expected one of mini_program, scene, wallet, got 'shop'",
        id="unknown-channel",
    ),
    pytest.param(
        _replace("limits.toml", 'key = "business"', 'key = "social_security"'),
        "limits.toml: materials[2].key: duplicate key 'social_security'",
        id="duplicate-material",
    ),
    pytest.param(
        _replace(
            "risk.toml", 'purposes = ["house", "investment"]', 'purposes = ["house", "stocks"]'
        ),
        "risk.toml: banned_purposes.purposes[1]: expected one of",
        id="unknown-purpose",
    ),
    pytest.param(
        _replace("special_groups.toml", 'identity = "student"', 'identity = "pupil"'),
        "special_groups.toml: groups[0].identity: expected one of",
        id="unknown-identity",
    ),
    pytest.param(
        _replace("policy.toml", 'basis = "reject.inquiries"', 'basis = "reject.nothing"'),
        "policy.toml: max_inquiries_3m.basis: unknown entry 'reject.nothing'",
        id="policy-basis",
    ),
    pytest.param(
        _replace("after_opening.toml", 'id = "after.credit_tasks"', 'id = "after.tasks"'),
        "required entry 'after.credit_tasks' is missing",
        id="required-entry",
    ),
    pytest.param(
        _replace("products.toml", "min_pay_score = 620", "min_pay_score = 900"),
        "products.toml: products[0].min_pay_score: must be in 300..850, got 900",
        id="out-of-range",
    ),
    pytest.param(
        _replace("admission.toml", "[score_boost]", "[score_bost]"),
        "admission.toml: score_boost: missing",
        id="missing-table",
    ),
]


@pytest.mark.parametrize(("edit", "message"), BROKEN)
def test_broken_data_stops_startup_naming_file_and_field(
    data_copy: Path, edit: Callable[[Path], None], message: str
) -> None:
    edit(data_copy)
    with pytest.raises(DataError) as caught:
        load_knowledge(data_copy)
    assert message in str(caught.value)
    assert isinstance(caught.value, KnowledgeError)


def test_every_owned_file_is_required(data_copy: Path) -> None:
    for name in FILES:
        text = (data_copy / name).read_bytes()
        (data_copy / name).unlink()
        with pytest.raises(DataError, match=f"^{name}: file not found"):
            load_knowledge(data_copy)
        (data_copy / name).write_bytes(text)
    load_knowledge(data_copy)
