"""Contracts between code, templates and layers (the README itself: tests/test_docs.py)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pytest

from wxloan.handlers.rendering import TEMPLATE_DIR, TEMPLATE_SUFFIX

ROOT = Path(__file__).resolve().parents[1]
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


def test_every_template_a_handler_names_exists():
    names = _say_template_names()
    assert names, "no Say(...) found: the scan is broken"
    missing = {(n, f) for n, f in names if not (TEMPLATE_DIR / f"{n}{TEMPLATE_SUFFIX}").exists()}
    assert not missing


#: One CJK ideograph is enough: a keyword table of single characters ("是", "对", "否") is
#: vocabulary too. CJK punctuation (。！？、) is not matched: splitting on it is mechanism.
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

#: Chinese literals that are not user-facing vocabulary, each with the reason.
PROSE_ALLOWED: dict[tuple[str, str], str] = {
    ("handlers/nlu/fuzzy.py", "\u4e00"): "bounds of the CJK block (written as \\u escapes)",
    ("handlers/nlu/fuzzy.py", "\u9fff"): "bounds of the CJK block (written as \\u escapes)",
    **{
        ("knowledge/codes.py", meaning): "CodeSpec.meaning: notes for template writers, "
        "never rendered; names the article's own term"
        for meaning in (
            "student track: 学信网 verification, limit capped",
            "the rejection said 综合评分不足",
            "keep more than the threshold in 零钱通 to speed up raises",
            "零钱通 balance already over the threshold",
        )
    },
}


def _chinese_literals(source: str) -> list[tuple[int, str]]:
    """(line, value) of every string literal holding a CJK ideograph, docstrings excepted."""
    tree = ast.parse(source)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
        and _CJK.search(node.value)
    ]


def test_no_reply_prose_in_python():
    """User-facing Chinese lives in templates; keyword tables live in knowledge data."""
    offenders, allowed_seen = [], set()
    for path in _python_files(*PACKAGES):
        relative = path.relative_to(ROOT).as_posix()
        for line, value in _chinese_literals(path.read_text(encoding="utf-8")):
            if (relative, value) in PROSE_ALLOWED:
                allowed_seen.add((relative, value))
            else:
                offenders.append(f"{relative}:{line}: {value[:30]!r}")
    assert not offenders, "Chinese in Python (move it to a template or knowledge/data):\n" + (
        "\n".join(offenders)
    )
    stale = set(PROSE_ALLOWED) - allowed_seen
    assert not stale, f"allow-listed literals no longer in the code: {sorted(stale)}"


def test_the_prose_scan_sees_one_character_keywords():
    source = '"""模块说明 (a docstring)."""\n_YES = ("是", "对")\n_NO = {"否"}\nRANGE = "\\u4e00"\n'
    assert sorted(_chinese_literals(source)) == [(2, "对"), (2, "是"), (3, "否"), (4, "\u4e00")]
    assert _chinese_literals('SPLIT = "。！？、"\n') == []


# -- import direction ----------------------------------------------------------------------

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]
PACKAGE_DIR: dict[str, str] = SETUPTOOLS["package-dir"]

#: Module prefixes each layer must not import (``wxloan.x`` covers ``wxloan.x.y``).
FORBIDDEN_IMPORTS: dict[str, tuple[str, ...]] = {
    "bot": (),
    "handlers": ("wxloan.bot", "wxloan.storage", "aiohttp", "wechatpy", "sqlite3", "sqlite_utils"),
    "knowledge": ("wxloan.bot", "wxloan.handlers", "wxloan.storage"),
    "storage": ("wxloan.bot", "wxloan.handlers", "wxloan.knowledge"),
}
#: Layers that may import only the standard library and themselves.
STDLIB_ONLY = {"knowledge": "wxloan.knowledge"}
#: The folders' own names: importable only as ``wxloan.<name>`` (or relatively).
BARE_NAMES = frozenset(PACKAGES)


def _module_name(relative: Path) -> str:
    """The dotted name a file installs as, from pyproject's ``package-dir``."""
    folder = relative.parent.as_posix()
    package, root = max(
        ((name, where) for name, where in PACKAGE_DIR.items()
         if folder == where or folder.startswith(where + "/")),
        key=lambda item: len(item[1]),
    )
    rest = [*Path(folder).relative_to(root).parts] if folder != root else []
    if relative.stem != "__init__":
        rest.append(relative.stem)
    return ".".join([package, *rest])


def _imports(relative: Path, source: str) -> list[tuple[int, str, bool]]:
    """(line, module, written absolutely) of every import, relative ones resolved.

    ``from a import b`` yields ``a.b`` (``b`` may be a submodule, so ``from wxloan import
    storage`` is an import of ``wxloan.storage``); a constant
    ``importlib.import_module("x")`` or ``__import__("x")`` counts as an import of ``x``.
    """
    module = _module_name(relative)
    package = module if relative.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[int, str, bool]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, True) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                if node.level > len(parts):
                    found.append((node.lineno, "." * node.level + (node.module or ""), False))
                    continue
                base = ".".join(parts[: len(parts) - node.level + 1])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            names = [alias.name for alias in node.names if alias.name != "*"]
            found += [
                (node.lineno, f"{target}.{name}" if name else target, not node.level)
                for name in (names or [""])
            ]
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None))
            in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and not node.args[0].value.startswith(".")
        ):
            found.append((node.lineno, node.args[0].value, True))
    return found


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def _import_violations(relative: Path, source: str) -> list[str]:
    """Every forbidden import of one file, as ``file:line → module (rule)``."""
    layer = relative.parts[0]
    problems = []
    for line, module, absolute in _imports(relative, source):
        where = f"{relative.as_posix()}:{line} → {module}"
        if module.startswith("."):
            problems.append(f"{where} (relative import above the top-level package)")
            continue
        top = module.split(".")[0]
        if absolute and top in BARE_NAMES:
            problems.append(f"{where} (a bare folder name: import wxloan.{top} or relatively)")
            continue
        forbidden = [p for p in FORBIDDEN_IMPORTS.get(layer, ()) if _within(module, p)]
        own = STDLIB_ONLY.get(layer)
        if forbidden:
            problems.append(f"{where} ({layer}/ must not import {forbidden[0]})")
        elif own and not _within(module, own) and top not in sys.stdlib_module_names:
            problems.append(f"{where} ({layer}/ imports the standard library only)")
    return problems


@pytest.mark.parametrize("layer", PACKAGES)
def test_imports_point_the_right_way(layer):
    files = _python_files(layer)
    assert files, f"no Python files under {layer}/: the scan is broken"
    problems = [
        problem
        for path in files
        for problem in _import_violations(
            path.relative_to(ROOT), path.read_text(encoding="utf-8")
        )
    ]
    assert not problems, "\n".join(problems)


def test_tests_import_the_installed_names_only():
    problems = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                modules = [node.module or ""]
            else:
                continue
            problems += [
                f"{path.relative_to(ROOT).as_posix()}:{node.lineno} → {module}"
                for module in modules
                if module.split(".")[0] in BARE_NAMES
            ]
    assert not problems, "import these as wxloan.<name>:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("bot/_wxloan/__init__.py", "wxloan"),
        ("bot/_wxloan/__main__.py", "wxloan.__main__"),
        ("bot/app.py", "wxloan.bot.app"),
        ("bot/simulator/__init__.py", "wxloan.bot.simulator"),
        ("handlers/nlu/lexicon.py", "wxloan.handlers.nlu.lexicon"),
        ("knowledge/kb.py", "wxloan.knowledge.kb"),
    ],
)
def test_module_names_follow_package_dir(path, expected):
    assert _module_name(Path(path)) == expected


@pytest.mark.parametrize(
    ("path", "source", "expected"),
    [
        ("handlers/fake.py", "from ..bot import app\n",
         ["handlers/fake.py:1 → wxloan.bot.app (handlers/ must not import wxloan.bot)"]),
        ("handlers/nlu/fake.py", "from ...storage.store import Store\n",
         [("handlers/nlu/fake.py:1 → wxloan.storage.store.Store"
           " (handlers/ must not import wxloan.storage)")]),
        ("handlers/fake.py", "from wxloan import storage\n",
         ["handlers/fake.py:1 → wxloan.storage (handlers/ must not import wxloan.storage)"]),
        ("handlers/fake.py", "if TYPE_CHECKING:\n    import aiohttp.web\n",
         ["handlers/fake.py:2 → aiohttp.web (handlers/ must not import aiohttp)"]),
        ("handlers/fake.py", "import sqlite3\n",
         ["handlers/fake.py:1 → sqlite3 (handlers/ must not import sqlite3)"]),
        ("knowledge/fake.py", "import jinja2\n",
         ["knowledge/fake.py:1 → jinja2 (knowledge/ imports the standard library only)"]),
        ("knowledge/fake.py", "from ..handlers.nlu import Understander\n",
         [("knowledge/fake.py:1 → wxloan.handlers.nlu.Understander"
           " (knowledge/ must not import wxloan.handlers)")]),
        ("storage/fake.py", "import importlib\nimportlib.import_module('wxloan.knowledge')\n",
         ["storage/fake.py:2 → wxloan.knowledge (storage/ must not import wxloan.knowledge)"]),
        ("bot/fake.py", "from handlers import build_dialogue\n",
         [("bot/fake.py:1 → handlers.build_dialogue"
           " (a bare folder name: import wxloan.handlers or relatively)")]),
        ("storage/fake.py", "from .... import x\n",
         ["storage/fake.py:1 → .... (relative import above the top-level package)"]),
        ("handlers/fake.py", "from .contract import Say\nfrom wxloan.knowledge import kb\n", []),
        ("knowledge/fake.py", "import tomllib\nfrom . import ids\nfrom .enums import Flow\n", []),
        ("bot/fake.py", "import aiohttp\nfrom wxloan.storage import Store\n", []),
    ],
)
def test_the_import_scan_would_catch_a_violation(path, source, expected):
    assert _import_violations(Path(path), source) == expected


# -- packaging -------------------------------------------------------------------------------


def _package_folder(package: str) -> Path:
    """The folder ``package`` is built from, by pyproject's ``package-dir``."""
    name = max((n for n in PACKAGE_DIR if _within(package, n)), key=len)
    rest = package[len(name):].strip(".")
    return ROOT / PACKAGE_DIR[name] / Path(*rest.split(".")) if rest else ROOT / PACKAGE_DIR[name]


def test_the_wheel_installs_only_wxloan():
    packages = SETUPTOOLS["packages"]
    assert packages, "no packages listed in [tool.setuptools]"
    strays = [p for p in packages if not _within(p, "wxloan")]
    assert not strays, f"packages outside wxloan would land in site-packages: {strays}"
    assert all(_within(name, "wxloan") for name in PACKAGE_DIR), PACKAGE_DIR


def test_every_package_folder_is_in_the_wheel():
    listed = set(SETUPTOOLS["packages"])
    folders = sorted(
        init.parent.relative_to(ROOT)
        for top in PACKAGES
        for init in (ROOT / top).rglob("__init__.py")
        if "__pycache__" not in init.parts
    )
    assert Path("bot/_wxloan") in folders and "wxloan" in listed  # the root package itself
    without_init = sorted(
        {path.parent.relative_to(ROOT).as_posix() for path in _python_files(*PACKAGES)}
        - {folder.as_posix() for folder in folders}
    )
    assert not without_init, f"Python folders without __init__.py (not packaged): {without_init}"
    missing = [
        f"{folder.as_posix()}/ → {_module_name(folder / '__init__.py')}"
        for folder in folders
        if _module_name(folder / "__init__.py") not in listed
    ]
    assert not missing, "package folders missing from [tool.setuptools].packages:\n" + (
        "\n".join(missing)
    )


def test_every_listed_package_exists():
    absent = [
        package for package in SETUPTOOLS["packages"]
        if not (_package_folder(package) / "__init__.py").is_file()
    ]
    assert not absent, f"listed but no __init__.py: {absent}"


def test_every_data_file_is_in_the_wheel():
    """Templates, knowledge data, the simulator page: each matches a package-data glob."""
    package_data: dict[str, list[str]] = SETUPTOOLS["package-data"]
    files = [
        path for top in PACKAGES for path in sorted((ROOT / top).rglob("*"))
        if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts
    ]
    assert files, "no data files found: the scan is broken"
    unshipped = []
    for path in files:
        shipped = any(
            path.is_relative_to(_package_folder(package))
            and fnmatch(path.relative_to(_package_folder(package)).as_posix(), pattern)
            for package, patterns in package_data.items()
            for pattern in patterns
        )
        if not shipped:
            unshipped.append(path.relative_to(ROOT).as_posix())
    assert not unshipped, "files no [tool.setuptools.package-data] glob ships:\n" + (
        "\n".join(unshipped)
    )
