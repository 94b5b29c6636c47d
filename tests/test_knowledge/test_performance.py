"""Start-up load and per-message assess stay fast (generous bounds; see the report for numbers)."""

from __future__ import annotations

import timeit
from dataclasses import replace
from functools import partial

from wxloan.knowledge import ApplicantProfile, Identity, KnowledgeBase, assess, load_knowledge

from .conftest import CLEAN, TODAY


def test_load_under_50_ms() -> None:
    load_knowledge()
    best = min(timeit.repeat(load_knowledge, number=1, repeat=5))
    assert best < 0.05, f"{best * 1000:.2f} ms"


def test_assess_under_100_microseconds(kb: KnowledgeBase) -> None:
    profiles = [ApplicantProfile(), replace(CLEAN, pay_score=760, identity=Identity.NEW_USER)]
    for profile in profiles:
        run = partial(assess, profile, kb, TODAY)
        best = min(timeit.repeat(run, number=200, repeat=5)) / 200
        assert best < 100e-6, f"{best * 1e6:.1f} µs"
