"""StoreBackend (storage/interface.py): Store implements it, and it is what bot/ calls."""

from __future__ import annotations

import ast
import inspect
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import wxloan
import wxloan.bot
import wxloan.storage
from wxloan.storage import Store, StoreBackend, open_store

BOT = Path(wxloan.bot.__file__).parent
#: Names (of classes) whose annotated parameters hold the store.
_STORE_TYPES = {"Store", "StoreBackend"}


def _members(protocol: type) -> set[str]:
    return {name for name in vars(protocol) if not name.startswith("_")}


def _is_store(node: ast.expr, names: set[str]) -> bool:
    """``self.store`` / ``self._store``, ``app[STORE]``, or a local bound to the store."""
    if isinstance(node, ast.Attribute):
        return node.attr in {"store", "_store"}
    if isinstance(node, ast.Subscript):
        return isinstance(node.slice, ast.Name) and node.slice.id == "STORE"
    return isinstance(node, ast.Name) and node.id in names


def _store_locals(function: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """Parameters annotated ``Store``, and names assigned ``await open_store(…)`` or
    ``app[STORE]`` (not e.g. ``with ReadOnlyStore(…) as store``, a different class)."""
    names = set()
    arguments = function.args
    for arg in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]:
        annotation = arg.annotation
        if isinstance(annotation, ast.Constant):  # a string annotation
            annotation = ast.parse(str(annotation.value), mode="eval").body
        if isinstance(annotation, ast.Name) and annotation.id in _STORE_TYPES:
            names.add(arg.arg)
    for node in ast.walk(function):
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            value = node.value
            opened = (
                isinstance(value, ast.Await)
                and isinstance(value.value, ast.Call)
                and isinstance(value.value.func, ast.Name)
                and value.value.func.id == "open_store"
            )
            indexed = isinstance(value, ast.Subscript) and _is_store(value, set())
            if opened or indexed:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def _used_by_bot() -> dict[str, list[str]]:
    """Every attribute ``bot/`` reads on the store, with where (file:line)."""
    used: dict[str, list[str]] = {}
    for path in sorted(BOT.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        scopes: list[tuple[ast.AST, set[str]]] = [(tree, set())]
        scopes += [
            (node, _store_locals(node))
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        ]
        for scope, names in scopes:
            for node in ast.walk(scope):
                if isinstance(node, ast.Attribute) and _is_store(node.value, names):
                    where = f"{path.relative_to(BOT.parent)}:{node.lineno}"
                    if where not in used.get(node.attr, []):
                        used.setdefault(node.attr, []).append(where)
    return used


def test_the_interface_is_exactly_what_bot_calls_on_the_store():
    used = _used_by_bot()
    # the scan does find the store wherever bot/ holds it
    assert {"read_turn", "get_token", "consume_quota", "ping", "close"} <= used.keys(), used
    assert _members(StoreBackend) == set(used), used


@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
def test_store_implements_every_method_of_the_interface_with_its_signature(engine):
    from wxloan.storage.postgres import PgStore

    store_class = Store if engine == "sqlite" else PgStore
    for name in _members(StoreBackend):
        declared = inspect.getattr_static(StoreBackend, name)
        if isinstance(declared, property):
            continue  # an attribute of the instance: checked in the test below
        implemented = inspect.getattr_static(store_class, name)
        assert inspect.signature(implemented) == inspect.signature(declared), name
        assert inspect.iscoroutinefunction(implemented) == inspect.iscoroutinefunction(
            declared
        ), name


async def test_an_open_store_is_a_store_backend(tmp_path):
    store = await open_store(tmp_path / "i.db")
    try:
        backend: StoreBackend = store  # mypy checks the same in storage/store.py
        assert isinstance(backend, StoreBackend)
        assert isinstance(backend.applied_migrations, list)
        assert await backend.ping()
    finally:
        await store.close()


_SNIPPET = """\
from wxloan.storage import ReadOnlyStore, Store, StoreBackend


def backend_of(store: Store) -> StoreBackend:
    backend: StoreBackend = store
    return backend


def not_a_backend(reader: ReadOnlyStore) -> StoreBackend:
    return reader  # line 10: no read_turn, no finish_turn, ...
"""


def test_mypy_accepts_a_store_as_a_store_backend_and_nothing_less(tmp_path):
    pytest.importorskip("mypy")
    config = BOT.parent / "pyproject.toml"
    if not config.is_file():
        pytest.skip("needs the source tree (pyproject.toml)")
    # The installed package maps folders to wxloan.*, which mypy cannot follow: lay it out.
    root = tmp_path / "path" / "wxloan"
    root.mkdir(parents=True)
    shutil.copy(Path(wxloan.__file__), root / "__init__.py")
    (root / "storage").symlink_to(Path(wxloan.storage.__file__).parent)
    snippet = tmp_path / "snippet.py"
    snippet.write_text(_SNIPPET, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--config-file", str(config),
         "--cache-dir", str(tmp_path / "cache"), "--no-error-summary", str(snippet)],
        capture_output=True, text=True, timeout=300, check=False,
        env={"MYPYPATH": str(root.parent), "PATH": "/usr/bin:/bin"},
    )
    errors = [line for line in done.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 1, done.stdout + done.stderr
    assert errors[0].startswith(f"{snippet}:10:"), errors
