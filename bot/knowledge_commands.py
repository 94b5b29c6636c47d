"""``wxloan knowledge export`` and ``wxloan knowledge check``: the operator's own knowledge folder."""

from __future__ import annotations

import argparse

__all__ = ["add_commands"]


def add_commands(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add this module's subcommands; each sets ``run(settings, args) -> exit code``."""
