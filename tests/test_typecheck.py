"""mypy strict passes over every package (``python -m tests.typecheck``), checked in CI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_packages_type_check_strictly() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tests.typecheck"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
