"""Recording a simulator session as a conversation test (``tests/conversations`` format)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = ["Recorder"]

#: How much of a reply's first line a recorded test asserts (short enough to survive
#: small wording edits elsewhere in the bubble, long enough to catch a wrong answer).
EXPECT_CHARS = 24


def _expectation(reply_kind: str, text: str) -> dict[str, Any]:
    if reply_kind == "success":
        return {"silent": True}
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return {}
    return {"contains": [lines[0][:EXPECT_CHARS]]}


@dataclass
class Recorder:
    """Collects the turns of one user's conversation."""

    name: str = "recorded with wxloan chat"
    mode: str = "plain"
    turns: list[dict[str, Any]] = field(default_factory=list)

    def add(self, kind: str, value: str, reply_kind: str, text: str) -> None:
        """Record one turn: ``kind`` is send/voice/click/event/media."""
        turn: dict[str, Any] = {kind: value}
        expect = _expectation(reply_kind, text)
        if expect:
            turn["expect"] = expect
        self.turns.append(turn)

    def reset(self) -> None:
        """Start a new conversation (a new user)."""
        self.turns.clear()

    def dump(self) -> str:
        """The YAML text of the transcript."""
        document = {"name": self.name, "mode": self.mode, "turns": self.turns}
        return str(yaml.safe_dump(document, allow_unicode=True, sort_keys=False))

    def save(self, path: Path) -> Path:
        """Write the transcript to ``path`` (``.yaml`` added if missing)."""
        if path.suffix not in (".yaml", ".yml"):
            path = path.with_suffix(".yaml")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.dump(), encoding="utf-8")
        return path
