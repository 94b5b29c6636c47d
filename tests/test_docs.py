"""The README documents everything an operator can type or scrape.

In the style of sqlite-utils' ``tests/test_docs.py``: the lists come from the code (the
argument parser, :data:`ENV_VARS`, the metrics module), never typed here, so a new
command, flag, setting or metric without a line in the README fails the build.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.metrics import MetricWrapperBase

from wxloan.bot import cli, metrics
from wxloan.bot.config import ENV_VARS

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")

#: the metrics issue 16 names; other work (dashboards, alerts) depends on them
NAMED_METRICS = {
    "wxloan_messages_total", "wxloan_reply_seconds", "wxloan_intents_total",
    "wxloan_fallbacks_total", "wxloan_scam_warnings_total", "wxloan_handoffs_total",
    "wxloan_duplicates_total", "wxloan_late_replies_total", "wxloan_outbound_total",
    "wxloan_in_flight",
}


def _subcommands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
                 ) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every (command path, parser) pair below ``parser``, depth first."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*path, name), sub
                yield from _subcommands(sub, (*path, name))


def _leaf_commands() -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    found = list(_subcommands(cli._parser()))
    parents = {path[:-1] for path, _ in found}
    return [(path, sub) for path, sub in found if path not in parents]


COMMANDS = _leaf_commands()
OPTIONS = sorted({
    (" ".join(path), option)
    for path, sub in COMMANDS
    for action in sub._actions
    for option in action.option_strings
    if option.startswith("--") and option != "--help"
})


def _metric_names() -> set[str]:
    names = set()
    for value in vars(metrics).values():
        if isinstance(value, MetricWrapperBase):
            name = value._name
            if value._type == "counter":
                name += "_total"
            names.add(name)
    return names


def test_the_lists_are_not_empty() -> None:
    # a parser or module change that hid everything would make the tests below vacuous
    assert len(COMMANDS) >= 17 and len(OPTIONS) >= 45 and len(_metric_names()) >= 10


@pytest.mark.parametrize("command", [" ".join(path) for path, _ in COMMANDS])
def test_every_command_is_documented(command: str) -> None:
    assert re.search(rf"`wxloan {re.escape(command)}(\s|`|\[)", README), (
        f"README.md does not show `wxloan {command}`"
    )


@pytest.mark.parametrize(("command", "option"), OPTIONS)
def test_every_option_is_documented(command: str, option: str) -> None:
    assert re.search(rf"{re.escape(option)}(?![\w-])", README), (
        f"README.md does not mention {option} (wxloan {command})"
    )


def test_the_version_flag_is_documented() -> None:
    assert "wxloan --version" in README


@pytest.mark.parametrize("name", sorted(ENV_VARS))
def test_every_setting_is_in_the_configuration_table(name: str) -> None:
    assert re.search(rf"^\| `{name}` \|", README, re.M), f"{name} has no row in README.md"


def test_the_named_metrics_exist() -> None:
    assert NAMED_METRICS <= _metric_names()


@pytest.mark.parametrize("name", sorted(_metric_names()))
def test_every_metric_is_documented(name: str) -> None:
    assert f"`{name}" in README, f"README.md does not document the metric {name}"


def test_the_knowledge_base_size_is_the_loaders() -> None:
    from wxloan.knowledge import load_knowledge

    stated = re.search(r"knowledge/data/\*\.toml`: (\d+) entries", README)
    assert stated is not None and int(stated.group(1)) == len(load_knowledge().entries)


def test_every_runtime_dependency_says_why_in_one_table() -> None:
    import tomllib

    pyproject = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml")
                              .read_text(encoding="utf-8"))
    names = {re.split(r"[\[<>=!~ ]", spec, maxsplit=1)[0].lower()
             for spec in pyproject["project"]["dependencies"]}
    section = README.split("## Runtime dependencies, and why", 1)[1]
    table = re.match(r"\s*((?:\|.*\|\n)+)", section)
    assert table is not None, "the dependency section starts with its table"
    rows = {re.split(r"[\[ (]", line.strip("| "), maxsplit=1)[0].lower()
            for line in table.group(1).splitlines()[2:]}
    assert names == rows
