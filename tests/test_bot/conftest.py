"""Fixtures for the webhook tests (shared ones live in tests/conftest.py)."""

from __future__ import annotations

import logging
import os

import pytest

from wxloan.bot.config import ENV_VARS


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No wxloan variable from the developer's shell leaks into a test."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def restore_logging():
    """``wxloan`` commands reconfigure the root logger; put it back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    access_level = logging.getLogger("aiohttp.access").level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("aiohttp.access").setLevel(access_level)


@pytest.fixture
def subprocess_env() -> dict[str, str]:
    """The environment for a ``python -m bot`` child: ours minus every wxloan variable."""
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # the child must not litter the repository
    return env
