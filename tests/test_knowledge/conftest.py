"""Shared fixtures: the packaged knowledge base, a clean profile, the seed article."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from wxloan.knowledge import ApplicantProfile, KnowledgeBase, Overdue, Purpose, load_knowledge
from wxloan.knowledge.loader import DATA_DIR

REPO_ROOT = Path(__file__).resolve().parents[2]
SEED = REPO_ROOT.parent / "shared" / "seed" / "000_5c0f5dda5d8317cb.txt"
TODAY = date(2025, 3, 1)

#: Every hard-stop field known and passing; pay score and the rest left to each test.
CLEAN = ApplicantProfile(
    real_name_verified=True,
    face_verified=True,
    account_normal=True,
    overdue=Overdue.NONE,
    purpose=Purpose.CONSUMPTION,
)


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return load_knowledge()


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    """A writable copy of the packaged data directory."""
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target)
    return target


@pytest.fixture(scope="session")
def article() -> str:
    if not SEED.is_file():
        pytest.skip(f"seed article not found at {SEED}")
    return SEED.read_text(encoding="utf-8")
