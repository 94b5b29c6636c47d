"""The dialogue runs without the transport: no aiohttp, no wechatpy, no database.

The test process itself has imported aiohttp (tests/conftest.py starts real apps), so the
check runs in a fresh interpreter: import the handlers, build the dialogue, answer a few
messages, then look at ``sys.modules``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: Modules the dialogue must never need.
TRANSPORT = ("aiohttp", "wechatpy", "wxloan.bot", "wxloan.storage", "sqlite3", "sqlite_utils")

SCRIPT = textwrap.dedent(
    """
    import asyncio, json, sys

    from wxloan.handlers import Kind, Message, State, build_dialogue

    dialogue = build_dialogue()

    async def main():
        text = Message(openid="o", kind=Kind.TEXT, msg_type="text", text="借1万分12期年利率18%")
        click = Message(openid="o", kind=Kind.EVENT, msg_type="event", event="click",
                        event_key="ELIGIBILITY")
        answers = [await dialogue.answer(m, State(), 1.74e9) for m in (text, click)]
        return [[s.template for s in a.outcome.says] for a in answers]

    names = asyncio.run(main())
    loaded = sorted(
        name for name in sys.modules
        if any(name == bad or name.startswith(bad + ".") for bad in json.loads(sys.argv[1]))
    )
    print(json.dumps({"names": names, "loaded": loaded}))
    """
)


def _run(script: str, *args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True, text=True, timeout=120, cwd=ROOT, check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_answering_messages_imports_no_transport_and_no_database():
    result = _run(SCRIPT, json.dumps(TRANSPORT))
    assert result["names"][0] == ["card_calculator"]  # the script really answered
    assert result["names"][1][0] == "brief_eligibility"
    assert result["loaded"] == [], f"the dialogue imported {result['loaded']}"


def test_the_check_would_see_a_transport_import():
    """The same scan in a process that did import the transport finds it."""
    script = "import wxloan.storage\n" + SCRIPT
    result = _run(script, json.dumps(TRANSPORT))
    assert "wxloan.storage" in result["loaded"]
