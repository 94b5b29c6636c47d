"""Contracts between code, templates and README (the sqlite-utils ``test_docs`` idea)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from wxloan.bot.cli import _parser
from wxloan.bot.config import ENV_VARS
from wxloan.handlers.rendering import TEMPLATE_DIR, TEMPLATE_SUFFIX

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
PACKAGES = ("bot", "handlers", "storage", "knowledge")


def _python_files(*packages: str) -> list[Path]:
    return [path for package in packages for path in sorted((ROOT / package).rglob("*.py"))]


def _say_template_names() -> set[tuple[str, str]]:
    """Every ``Say("name", ...)`` literal in the code, with the file it is in."""
    found = set()
    for path in _python_files("bot", "handlers"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", getattr(node.func, "attr", None)) == "Say"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                found.add((str(node.args[0].value), path.name))
    return found


@pytest.mark.parametrize("name", sorted(ENV_VARS))
def test_every_environment_variable_is_documented(name):
    assert f"`{name}`" in README


def test_every_cli_command_is_documented():
    subparsers = next(a for a in _parser()._actions if a.dest == "command")
    for command in subparsers.choices:
        assert f"`wxloan {command}" in README, command


def test_every_template_a_handler_names_exists():
    names = _say_template_names()
    assert names, "no Say(...) found: the scan is broken"
    missing = {(n, f) for n, f in names if not (TEMPLATE_DIR / f"{n}{TEMPLATE_SUFFIX}").exists()}
    assert not missing


_CJK_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")


def test_no_reply_prose_in_python():
    """User-facing Chinese lives in templates; keyword tables live in knowledge data."""
    offenders = []
    for path in _python_files("bot", "handlers", "storage"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docstrings
                and _CJK_RUN.search(node.value)
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value[:30]!r}")
    assert not offenders, "\n".join(offenders)
