"""``wxloan simulate --url``: drive a running wxloan, with ``wxloan chat``'s flags and checks.

The flags, their defaults from the environment and the credential checks are the chat's
own (:func:`.chat.add_arguments`, ``chat._target``), so both commands accept and refuse
the same things.
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp

from . import chat
from .protocol import PushBuilder

__all__ = ["REMOTE_FLAGS", "add_remote_arguments", "remote_webhook", "unreachable"]

#: The chat's flags that point at a running webhook.
REMOTE_FLAGS = ("--url", "--token", "--aes-key", "--app-id")


def add_remote_arguments(parser: argparse.ArgumentParser) -> None:
    """Add :data:`REMOTE_FLAGS` to ``parser``, exactly as ``wxloan chat`` declares them."""
    donor = argparse.ArgumentParser(add_help=False)
    chat.add_arguments(donor)
    for action in donor._actions:
        if set(action.option_strings) & set(REMOTE_FLAGS):
            parser._add_action(action)


@asynccontextmanager
async def remote_webhook(
    url: str, token: str | None = None, aes_key: str | None = None, app_id: str | None = None
) -> AsyncIterator[tuple[str, PushBuilder]]:
    """The webhook at ``url`` and a builder with its credentials (flags, then environment).

    Raises :class:`~wxloan.bot.errors.ConfigError` as ``wxloan chat --url`` does.
    """
    args = argparse.Namespace(url=url, token=token, aes_key=aes_key, app_id=app_id, mode=None,
                              miniprogram=False, db=None)
    async with chat._target(args) as target:
        yield target.url, target.builder


def unreachable(url: str, exc: aiohttp.ClientError) -> str:
    """One line for a webhook that cannot be reached (the chat's wording)."""
    return str(chat._unreachable(url, exc))
