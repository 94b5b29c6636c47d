"""The custom menu, read from ``knowledge/data/menu.toml`` (its only definition).

The file is read with the project's one TOML reader
(:class:`wxloan.knowledge.reader.TableReader`), so a bad edit fails with a message
naming the file and the field, as the knowledge and lexicon files do. Keys the menu
does not use are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from wxloan.knowledge.reader import TableReader

from .states import Flow

__all__ = ["MENU_PATH", "Menu", "MenuButton", "MenuError", "load_menu"]

MENU_PATH = Path(__file__).resolve().parents[1] / "knowledge" / "data" / "menu.toml"

#: The flows a button may start: the questionnaires (the one Flow enum, not a copy of it).
_FLOWS = frozenset(flow.value for flow in (Flow.ELIGIBILITY, Flow.REJECTION, Flow.LIMITS))


class MenuError(ValueError):
    """The menu file is invalid; the message names the file and the button."""


@dataclass(frozen=True, slots=True)
class MenuButton:
    """One CLICK button: its label, its ``EventKey``, the number that does the same."""

    name: str
    key: str
    choice: int
    flow: str


@dataclass(frozen=True, slots=True)
class Menu:
    """The buttons, in display order, with lookups by key and by typed number."""

    buttons: tuple[MenuButton, ...]

    def by_key(self, key: str) -> MenuButton | None:
        """The button whose ``EventKey`` is ``key``."""
        return next((b for b in self.buttons if b.key == key), None)

    def by_choice(self, choice: int) -> MenuButton | None:
        """The button that typing ``choice`` selects."""
        return next((b for b in self.buttons if b.choice == choice), None)

    def wechat_json(self) -> dict[str, object]:
        """The body of WeChat's ``menu/create`` API."""
        return {"button": [{"type": "click", "name": b.name, "key": b.key} for b in self.buttons]}


def load_menu(path: Path = MENU_PATH) -> Menu:
    """Read and validate the menu file.

    :raises MenuError: naming the file and the field (``menu.toml: buttons[0].flow: …``)
    """
    doc = TableReader.parse(path.name, path.read_bytes().decode("utf-8"), error=MenuError)
    buttons = []
    for r in doc.tables("buttons", required=False):
        button = MenuButton(
            name=r.string("name"),
            key=r.string("key"),
            choice=r.integer("choice"),
            flow=r.string("flow"),
        )
        if r.string("type", "click") != "click":
            raise r.error("type", "only 'click' buttons are supported")
        if button.flow not in _FLOWS:
            flows = ", ".join(sorted(_FLOWS))
            raise r.error("flow", f"expected one of {flows}, got {button.flow!r}")
        for field, text, limit in (("name", button.name, 16), ("key", button.key, 128)):
            size = len(text.encode("utf-8"))
            if size > limit:
                raise r.error(field, f"WeChat allows at most {limit} bytes (UTF-8), got {size}")
        buttons.append(button)
    if not 1 <= len(buttons) <= 3:
        raise doc.error("buttons", f"WeChat allows 1 to 3 top-level buttons, got {len(buttons)}")
    return Menu(tuple(buttons))
