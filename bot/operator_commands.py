"""The operator's conversation tools: ``users``, ``export``, ``backup`` and ``forget``."""

from __future__ import annotations

import argparse

__all__ = ["add_commands"]


def add_commands(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add this module's subcommands; each sets ``run(settings, args) -> exit code``."""
