"""Helpers shared by the webhook tests: tiny routers, message ids, table dumps."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from wxloan.handlers.contract import Outcome, Say, Turn
from wxloan.handlers.contract import Kind
from wxloan.handlers.routing import Router
from wxloan.handlers import commands
from tests.wechat import message_xml

# Far away from tests.wechat's own counter so ids never collide inside one test.
_ids = itertools.count(int(time.time() * 1000) + 10**12)

#: Text of the templates the assertions look for.
MENU = "回复数字开始"
WELCOME = "你好，我是微信借贷助手"
NOT_UNDERSTOOD = "这句我没看懂"
EMPTY_VOICE = "这条语音我没听清"
MEDIA = "我暂时看不了，请用文字告诉我你的问题"
ERROR = "抱歉，我这边出了点问题"
EXPIRED = "上次的对话已超时"
NO_MORE = "已经是全部内容了"
MORE_HINT = "回复“更多”看下一页"
PRIVACY = "请不要在聊天里发送"


def new_msg_id() -> int:
    return next(_ids)


def say(text: str) -> Say:
    """A reply bubble that is exactly ``text`` (the ``more_page`` template is ``{{ text }}``)."""
    return Say("more_page", {"text": text})


def router_for(
    handler: Callable[[Turn], Awaitable[Outcome]],
    kinds: Kind | tuple[Kind, ...] = Kind.TEXT,
    *,
    with_commands: bool = False,
) -> Router:
    """A router sending ``kinds`` to ``handler`` (after the "更多" command if asked)."""
    router = Router("test")
    if with_commands:
        router.include(commands.router)
    router.on(kinds)(handler)
    return router


def echo_router(delay: float = 0.0, calls: list[str] | None = None) -> Router:
    """Replies with the (masked) text the handler saw; records each call."""

    async def echo(turn: Turn) -> Outcome:
        if calls is not None:
            calls.append(turn.text)
        if delay:
            await asyncio.sleep(delay)
        return turn.stay(say(turn.text))

    return router_for(echo)


def text_xml(openid: str, content: str, create_time: int, msg_id: int | None = None) -> str:
    return message_xml(
        openid,
        "text",
        create_time,
        Content=content,
        MsgId=new_msg_id() if msg_id is None else msg_id,
    )


def dump_all_tables(db_path: Path) -> str:
    """Every column of every row of every table, as one text (what a leak would be in)."""
    with sqlite3.connect(db_path) as conn:
        tables = [
            name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        ]
        parts: list[str] = []
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                parts.extend(str(value) for value in row)
    return "\n".join(parts)


def count(db_path: Path, table: str, where: str = "1", params: tuple[Any, ...] = ()) -> int:
    with sqlite3.connect(db_path) as conn:
        return int(
            conn.execute(f"SELECT COUNT(*) FROM {table} WHERE {where}", params).fetchone()[0]
        )


async def wait_until(predicate: Callable[[], bool], timeout: float = 3.0) -> None:
    """Poll ``predicate`` (e.g. a database read) until true; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


def compat_body(safe_body: str, plaintext_xml: str) -> str:
    """A compatible-mode body: ``plaintext_xml`` with the ``<Encrypt>`` of ``safe_body``.

    Unlike ``WeChat.build(mode="compat")`` this inserts before the *last* ``</xml>``, so
    user text containing ``</xml>`` stays inside its CDATA section.
    """
    start = safe_body.index("<Encrypt>")
    end = safe_body.index("</Encrypt>") + len("</Encrypt>")
    cut = plaintext_xml.rindex("</xml>")
    return plaintext_xml[:cut] + safe_body[start:end] + "</xml>"
