"""``wxloan knowledge export`` and ``wxloan knowledge check``: the operator's own knowledge folder.

Why: the figures live in the installed package; an operator who corrects one edits a copy
(``WXLOAN_KNOWLEDGE_DIR``), and needs to know before serving it that it loads, and what it
changes against the data this version ships.
"""

from __future__ import annotations

import argparse
import shutil
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wxloan.knowledge.loader import DATA_DIR, data_files, data_fingerprint

from .errors import ConfigError

if TYPE_CHECKING:
    from .config import Settings

__all__ = ["add_commands", "changes", "problems"]

def add_commands(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add this module's subcommands; each sets ``run(settings, args) -> exit code``."""
    knowledge = commands.add_parser(
        "knowledge", help="the knowledge data: export a copy to edit, check an edited copy"
    )
    actions = knowledge.add_subparsers(dest="knowledge_command", required=True,
                                       metavar="ACTION")
    export = actions.add_parser(
        "export", help="write the shipped knowledge data into DIR, to edit",
        description="Copies the data this version ships (knowledge TOML files, lexicon, "
        "menu, NLU examples, model and thresholds) into DIR; point WXLOAN_KNOWLEDGE_DIR "
        "or `wxloan serve --knowledge DIR` at it.",
    )
    export.add_argument("dir", type=Path, metavar="DIR", help="folder to write (new or empty)")
    export.add_argument("--force", action="store_true",
                        help="write into a folder that is not empty (overwrites its files)")
    export.set_defaults(run=_export)
    check = actions.add_parser(
        "check", help="validate a knowledge folder and show what it changes",
        description="Loads DIR exactly as `wxloan serve` would. Exit 0 and print what it "
        "changes against the shipped data; or exit 2 with every problem as "
        "`file: field: message`.",
    )
    check.add_argument("dir", type=Path, metavar="DIR", nargs="?",
                       help="the folder (default $WXLOAN_KNOWLEDGE_DIR, else the shipped data)")
    check.set_defaults(run=_check)


def _export(settings: Settings, args: argparse.Namespace) -> int:
    target: Path = args.dir
    if target.exists() and not target.is_dir():
        raise ConfigError(f"knowledge export: {target} is a file, not a folder")
    if target.is_dir() and any(target.iterdir()) and not args.force:
        raise ConfigError(f"knowledge export: {target} is not empty (add --force to overwrite)")
    written = data_files(DATA_DIR)
    for relative in written:
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(DATA_DIR / relative, target / relative)
    print(f"wrote {len(written)} files to {target} (knowledge {data_fingerprint(target)});"
          f" serve them with WXLOAN_KNOWLEDGE_DIR={target} or --knowledge {target}")
    return 0


def problems(folder: Path) -> list[str]:
    """Every problem that stops ``folder`` from loading, as ``file: field: message``."""
    from wxloan.handlers import load_services
    from wxloan.handlers.nlu.classifier import ModelError
    from wxloan.knowledge.errors import DataError

    try:
        load_services(folder)
    except DataError as exc:
        return list(exc.problems)
    except (ModelError, OSError, ValueError) as exc:
        return [str(exc)]
    return []


def _check(settings: Settings, args: argparse.Namespace) -> int:
    folder: Path = args.dir or settings.knowledge_dir or DATA_DIR
    if not folder.is_dir():
        raise ConfigError(f"knowledge check: {folder} is not a folder")
    found = problems(folder)
    for line in found:
        print(line)
    if found:
        print(f"{folder}: {len(found)} problem(s); nothing was changed")
        return 2
    listed = list(changes(DATA_DIR, folder))
    for line in listed:
        print(line)
    print(f"{folder}: valid (knowledge {data_fingerprint(folder)});"
          f" {len(listed) or 'no'} change(s) against the shipped data")
    return 0


def changes(shipped: Path, edited: Path) -> Iterator[str]:
    """What ``edited`` changes against ``shipped``: one line per value added, removed or
    changed in a TOML file (``limits.toml: products[0].max: 200000 -> 300000``), one per
    other file that differs."""
    old_files, new_files = set(data_files(shipped)), set(data_files(edited))
    for relative in sorted(old_files | new_files):
        name = relative.as_posix()
        if relative not in new_files:
            yield f"{name}: removed"
        elif relative not in old_files:
            yield f"{name}: added"
        elif relative.suffix == ".toml":
            yield from _toml_changes(name, shipped / relative, edited / relative)
        elif (shipped / relative).read_bytes() != (edited / relative).read_bytes():
            yield f"{name}: changed"


def _toml_changes(name: str, old_path: Path, new_path: Path) -> Iterator[str]:
    old = dict(_flatten(tomllib.loads(old_path.read_text(encoding="utf-8"))))
    new = dict(_flatten(tomllib.loads(new_path.read_text(encoding="utf-8"))))
    for key in sorted(old.keys() | new.keys()):
        if key not in new:
            yield f"{name}: {key}: removed (was {old[key]!r})"
        elif key not in old:
            yield f"{name}: {key}: added {new[key]!r}"
        elif old[key] != new[key]:
            yield f"{name}: {key}: {old[key]!r} -> {new[key]!r}"


def _flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _flatten(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list) and any(isinstance(item, Mapping) for item in value):
        for index, item in enumerate(value):
            yield from _flatten(item, f"{prefix}[{index}]")
    else:
        yield prefix, value
