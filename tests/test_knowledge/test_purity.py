"""knowledge/ is pure: stdlib only, no clock, no randomness, no async, I/O only in the loader."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from wxloan import knowledge

PACKAGE = Path(__file__).resolve().parents[2] / "knowledge"
MODULES = sorted(PACKAGE.rglob("*.py"))

#: Stdlib modules that would bring I/O, time, randomness or concurrency into the rules.
FORBIDDEN = {
    "asyncio", "concurrent", "http", "logging", "multiprocessing", "os", "random", "secrets",
    "shutil", "socket", "sqlite3", "subprocess", "sys", "tempfile", "threading", "time", "urllib",
    "uuid",
}  # fmt: skip
#: Calls that read the clock.
CLOCK = {"now", "today", "utcnow", "time", "monotonic", "perf_counter"}
#: Attribute calls that do file I/O; allowed only in the loader.
FILE_IO = {"open", "read_text", "read_bytes", "write_text", "write_bytes", "load"}


def _imports(tree: ast.AST) -> list[tuple[str, int]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name.split(".")[0], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module.split(".")[0], node.lineno))
    return found


def test_scan_sees_the_package() -> None:
    names = {path.name for path in MODULES}
    assert {"__init__.py", "loader.py", "assessment.py", "calculator.py"} <= names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_imports_only_stdlib(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for module, line in _imports(tree):
        assert module in sys.stdlib_module_names, f"{path.name}:{line}: imports {module}"
        assert module not in FORBIDDEN, f"{path.name}:{line}: imports {module}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_no_clock_no_async_no_stray_io(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        assert not isinstance(node, ast.AsyncFunctionDef | ast.Await), f"{path.name}: async"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            name = node.func.attr
            assert name not in CLOCK, f"{path.name}:{node.lineno}: reads the clock ({name})"
            if path.name != "loader.py":
                assert name not in FILE_IO, f"{path.name}:{node.lineno}: does I/O ({name})"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id != "open" or path.name == "loader.py", f"{path.name}: open()"


def test_scan_would_catch_a_violation() -> None:
    bad = ast.parse("import requests\nimport random\nfrom datetime import date\ndate.today()\n")
    modules = [m for m, _ in _imports(bad)]
    assert "requests" not in sys.stdlib_module_names and "random" in FORBIDDEN
    assert modules == ["requests", "random", "datetime"]
    calls = [
        n.func.attr
        for n in ast.walk(bad)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
    ]
    assert "today" in calls


def test_public_surface_is_sorted_and_complete() -> None:
    exported = knowledge.__all__
    assert exported == sorted(exported)
    public = {name for name in vars(knowledge) if not name.startswith("_")}
    submodules = {path.stem for path in MODULES} | {"annotations"}
    assert set(exported) == public - submodules
    for name in [
        "load_knowledge", "KnowledgeBase", "KnowledgeError", "ApplicantProfile", "Overdue",
        "Identity", "Material", "Purpose", "RejectionHint", "assess", "Assessment",
        "diagnose_rejection", "limit_plan", "next_questions", "equal_instalment",
        "equal_principal", "daily_rate_to_apr", "apr_to_daily_rate", "CODES",
    ]:  # fmt: skip
        assert name in exported, name


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_every_module_declares_sorted_all(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    assert ast.get_docstring(tree), f"{path.name}: module docstring"
    values = [
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and any(getattr(t, "id", None) == "__all__" for t in node.targets)
    ]
    assert len(values) == 1, f"{path.name}: __all__"
    names = ast.literal_eval(values[0])
    assert names == sorted(names), f"{path.name}: __all__ not sorted"
