"""``wxloan chat``: a terminal chat that plays WeChat's server against a webhook.

By default it starts a webhook in-process (both channels, a stand-in WeChat API, a
temporary database); ``--url`` talks to a running one instead. Every line goes out as a
real signed push (encrypted in safe mode) and each answer is printed with its latency.
When stdin is not a terminal it reads one message per line, so it can be scripted:
``echo 怎么提额 | wxloan chat``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import secrets
import sys
import tempfile
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import aiohttp
from prompt_toolkit import PromptSession
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.history import FileHistory

from ..config import _aes_key_ok
from ..errors import ConfigError, StartupError
from ..standin import StandIn
from .client import Exchange, WebhookClient
from .local import local_bot
from .protocol import PushBuilder
from .transcript import Recorder

__all__ = ["COMMANDS", "add_arguments", "chat_log_path", "history_path", "run_chat"]

COMMANDS = {
    "/subscribe": "follow the account (welcome)",
    "/menu KEY": "click a menu button (ELIGIBILITY, REJECTION, LIMIT_TIPS)",
    "/voice TEXT": "a voice message WeChat transcribed to TEXT",
    "/image": "send an image",
    "/retry": "resend the last message with the same MsgId (as WeChat does)",
    "/reset": "start over as a new user",
    "/save FILE": "save this conversation as a conversation-test YAML",
    "/human-end": "the agent closes the hand-off (WeChat's kf_close_session event)",
    "/inspect": "show the last raw request and reply (decrypted, and as on the wire)",
    "/quit": "leave",
}
_PROMPT = "you> "
#: Escape sequences (CSI, OSC, two-byte ESC) and C0/C1 controls other than newline.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\\\)?"
                      r"|\x1b[@-_]?|[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def clean_input(text: str) -> str:
    """``text`` without escape sequences and control characters (newlines kept), stripped."""
    return _ESCAPES.sub("", text).strip()
#: How long to wait for answers that arrive through the customer-service API.
_API_WAIT = 2.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``wxloan chat`` flags."""
    parser.add_argument("--url", help="webhook URL of a running wxloan (default: in-process)")
    parser.add_argument("--token", help="Token (default $WECHAT_TOKEN)")
    parser.add_argument("--aes-key", help="EncodingAESKey (default $WECHAT_ENCODING_AES_KEY)")
    parser.add_argument("--app-id", help="AppID (default $WECHAT_APP_ID)")
    parser.add_argument("--mode", choices=["plain", "compat", "safe"],
                        help="encryption mode (default: safe when an AES key is known)")
    parser.add_argument("--miniprogram", action="store_true",
                        help="talk to the mini-program channel (in-process only)")
    parser.add_argument("--openid", help="the simulated user's openid (default: random)")
    parser.add_argument("--db", type=Path, help="database for the in-process webhook")
    parser.add_argument("--log-file", type=Path, metavar="PATH",
                        help="where the in-process webhook's logs go (default: "
                        "wxloan-chat-<pid>.log in the temporary folder)")


def chat_log_path() -> Path:
    """The default log file of a chat: one per process in the temporary folder."""
    return Path(tempfile.gettempdir()) / f"wxloan-chat-{os.getpid()}.log"


def history_path() -> Path:
    """Where the terminal chat keeps its input history (the folder is created)."""
    env = os.environ
    if env.get("WXLOAN_CHAT_HISTORY"):
        path = Path(env["WXLOAN_CHAT_HISTORY"])
    else:
        state = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
        path = Path(state) / "wxloan" / "chat_history"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


@dataclass
class _Target:
    url: str
    builder: PushBuilder
    standin: StandIn | None


@asynccontextmanager
async def _target(args: argparse.Namespace) -> AsyncIterator[_Target]:
    env = os.environ
    if args.url:
        if not args.url.startswith(("http://", "https://")):
            raise ConfigError(f"--url must start with http:// or https://, got {args.url!r}")
        token = args.token or env.get("WECHAT_TOKEN", "")
        if not token:
            raise ConfigError("--url needs --token (or WECHAT_TOKEN)")
        aes_key = args.aes_key or env.get("WECHAT_ENCODING_AES_KEY", "")
        app_id = args.app_id or env.get("WECHAT_APP_ID", "")
        mode = args.mode or ("safe" if aes_key else "plain")
        if mode != "plain":
            if not aes_key:
                raise ConfigError(f"--mode {mode} needs --aes-key (or WECHAT_ENCODING_AES_KEY)")
            if not _aes_key_ok(aes_key):
                raise ConfigError("--aes-key / WECHAT_ENCODING_AES_KEY must be the "
                                  "43-character key from the WeChat console")
            if not app_id:
                raise ConfigError(f"--mode {mode} needs --app-id (or WECHAT_APP_ID)")
        yield _Target(args.url, PushBuilder(token, app_id, aes_key, mode=mode), None)
        return
    with tempfile.TemporaryDirectory(prefix="wxloan-chat-") as tmp:
        db_path = args.db or Path(tmp) / "chat.db"
        async with local_bot(db_path) as bot:
            s = bot.settings
            if args.miniprogram:
                builder = PushBuilder(s.wxa_token, s.wxa_app_id, s.wxa_aes_key,
                                      mode=args.mode or "safe", data_format="json")
                url = bot.base_url + "/miniprogram"
            else:
                builder = PushBuilder(s.token, s.app_id, s.aes_key, mode=args.mode or "safe")
                url = bot.base_url + "/wechat"
            yield _Target(url, builder, bot.standin)


class _Session:
    """One chat: the client, the current user, the recorder, and where output goes."""

    def __init__(self, client: WebhookClient, target: _Target, openid: str, out: TextIO,
                 colour: bool = False) -> None:
        self.client = client
        self.colour = colour
        self.target = target
        self.openid = openid
        self.out = out
        self.recorder = Recorder(mode=target.builder.mode)
        self.seen_api = 0

    def print(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def bot(self, text: str) -> None:
        """A bot reply: cyan on a terminal, plain otherwise."""
        self.print(f"\x1b[36m{text}\x1b[0m" if self.colour else text)

    async def _api_answers(self, wait: bool) -> list[str]:
        """Answers that arrived through the (stand-in) customer-service API."""
        standin = self.target.standin
        if standin is None:
            return []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (_API_WAIT if wait else 0.3)
        while True:
            texts = standin.texts_to(self.openid)
            if len(texts) > self.seen_api or loop.time() >= deadline:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.05)  # let a burst of several messages land
        texts = standin.texts_to(self.openid)
        fresh, self.seen_api = texts[self.seen_api:], len(texts)
        return fresh

    async def show(self, exchange: Exchange, record: tuple[str, str] | None) -> None:
        reply = exchange.reply
        latency = f"{exchange.latency_ms:.1f} ms"
        slow = "  ⚠ close to WeChat's 5 s limit" if exchange.latency_ms > 4000 else ""
        shown = reply.text
        if reply.kind == "text":
            self.bot(f"bot ({latency}){slow}>\n{reply.text}\n")
        elif reply.kind == "transfer":
            self.bot(f"bot ({latency})> [transfer_customer_service: handed to a human agent]\n")
        elif reply.kind == "error":
            self.bot(f"bot ({latency})> [error] {reply.text}\n")
        else:
            self.bot(f"bot ({latency})> [success: no passive reply]")
        expecting_api = self.target.standin is not None and reply.kind in ("success", "transfer")
        for text in await self._api_answers(wait=expecting_api and reply.kind == "success"):
            self.bot(f"bot (customer-service API)>\n{text}\n")
            shown = shown or text
        if record is not None:
            kind = reply.kind if not shown else "text"
            self.recorder.add(record[0], record[1], kind, shown)


async def _handle(session: _Session, line: str) -> bool:
    """Run one input line; False when the chat should end."""
    client, openid = session.client, session.openid
    command, _, argument = line.partition(" ")
    argument = argument.strip()
    if command == "/quit":
        return False
    if command == "/help":
        session.print("\n".join(f"  {name:<12} {meaning}" for name, meaning in COMMANDS.items()))
    elif command == "/subscribe":
        await session.show(await client.event(openid, "subscribe"), ("event", "subscribe"))
    elif command == "/menu" and argument:
        await session.show(await client.event(openid, "CLICK", argument), ("click", argument))
    elif command == "/voice" and argument:
        await session.show(await client.voice(openid, argument), ("voice", argument))
    elif command == "/image":
        await session.show(await client.media(openid, "image"), ("media", "image"))
    elif command == "/retry":
        exchange = await client.retry()
        if exchange is None:
            session.print("(nothing to resend yet)")
        else:
            await session.show(exchange, None)
    elif command == "/reset":
        session.openid = "sim-" + secrets.token_hex(6)
        session.recorder.reset()
        session.seen_api = 0
        session.print(f"(new user {session.openid})")
    elif command == "/human-end":
        exchange = await client.event(openid, "kf_close_session")
        await session.show(exchange, None)
        session.print("(hand-off closed: the bot answers again)")
    elif command == "/inspect":
        session.print(client.inspect())
    elif command == "/save" and argument:
        path = session.recorder.save(Path(argument))
        session.print(f"(saved {len(session.recorder.turns)} turns to {path})")
    elif command.startswith("/") and command in {c.split()[0] for c in COMMANDS}:
        session.print(f"(usage: {next(c for c in COMMANDS if c.startswith(command))})")
    else:
        await session.show(await client.text(openid, line), ("send", line))
    return True


def _unreachable(url: str, exc: aiohttp.ClientError) -> StartupError:
    """One line for a webhook that cannot be reached (nothing listening, connection lost)."""
    cause = getattr(exc, "os_error", None)
    if isinstance(cause, ConnectionRefusedError):
        why = "connection refused (is wxloan serve running there?)"
    elif isinstance(cause, OSError):
        why = cause.strerror or str(cause)
    else:
        why = str(exc) or type(exc).__name__
    return StartupError(f"--url: cannot reach {url}: {why}")


async def _read_line(read_line: Callable[[str], str], prompt: str) -> str:
    """``read_line(prompt)`` on a daemon thread: Ctrl-C leaves without waiting for Enter.

    (``asyncio.to_thread`` would make the exit wait for the blocked ``input()``.)
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[str] = loop.create_future()

    def settle(value: str | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value or "")

    def read() -> None:
        try:
            outcome: tuple[str | None, BaseException | None] = (read_line(prompt), None)
        except BaseException as exc:  # EOFError above all; handed to the awaiting task
            outcome = (None, exc)
        try:
            loop.call_soon_threadsafe(settle, *outcome)
        except RuntimeError:  # the loop is closed: the chat is over
            pass

    threading.Thread(target=read, name="wxloan-chat-input", daemon=True).start()
    return await future


async def run_chat(
    args: argparse.Namespace,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    read_line: Callable[[str], str] | None = None,
) -> int:
    """Chat until ``/quit`` or end of input; return the exit code."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    interactive = stdin.isatty()
    async with _target(args) as target, aiohttp.ClientSession() as http:
        try:
            return await _chat_loop(args, target, http, stdin, stdout, interactive, read_line)
        except aiohttp.ClientError as exc:
            raise _unreachable(target.url, exc) from None


async def _chat_loop(
    args: argparse.Namespace,
    target: _Target,
    http: aiohttp.ClientSession,
    stdin: TextIO,
    stdout: TextIO,
    interactive: bool,
    read_line: Callable[[str], str] | None,
) -> int:
    """The chat itself: read lines, send them, print the answers."""
    openid = args.openid or "sim-" + secrets.token_hex(6)
    tty = interactive and read_line is None and stdout.isatty()
    session = _Session(WebhookClient(http, target.url, target.builder), target, openid, stdout,
                       colour=tty)
    prompt_session: PromptSession[str] | None = None
    if tty:  # line editing, history kept across runs and a coloured prompt
        prompt_session = PromptSession(history=FileHistory(str(history_path())))
    if interactive:
        session.print(f"wxloan chat → {target.url} ({target.builder.mode} mode), user {openid}")
        session.print("Type a message to chat; /help lists the commands, /quit leaves.")
    while True:
        if prompt_session is not None:
            try:
                line = await prompt_session.prompt_async(
                    FormattedText([("ansigreen bold", _PROMPT)]))
            except EOFError:
                session.print("(bye)")
                break
        elif interactive:
            try:
                line = await _read_line(read_line or input, _PROMPT)
            except EOFError:
                break
        else:
            raw = stdin.readline()
            if not raw:
                break
            line = raw.rstrip("\n")
        line = clean_input(line)
        if line and not await _handle(session, line):
            break
    return 0
