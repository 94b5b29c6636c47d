"""The custom menu, read from ``knowledge/data/menu.toml`` (its only definition)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

__all__ = ["MENU_PATH", "Menu", "MenuButton", "MenuError", "load_menu"]

MENU_PATH = Path(__file__).resolve().parents[1] / "knowledge" / "data" / "menu.toml"

_FLOWS = frozenset({"eligibility", "rejection", "limits"})


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
    """Read and validate the menu file."""
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    buttons = []
    for index, raw in enumerate(data.get("buttons", [])):
        where = f"{path.name}: buttons[{index}]"
        try:
            button = MenuButton(
                name=str(raw["name"]), key=str(raw["key"]), choice=int(raw["choice"]),
                flow=str(raw["flow"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise MenuError(f"{where}: missing or invalid field {exc}") from exc
        if raw.get("type", "click") != "click":
            raise MenuError(f"{where}.type: only 'click' buttons are supported")
        if button.flow not in _FLOWS:
            raise MenuError(f"{where}.flow: must be one of {sorted(_FLOWS)}")
        if len(button.name.encode("utf-8")) > 16 or len(button.key.encode("utf-8")) > 128:
            raise MenuError(f"{where}: name over 16 bytes or key over 128 bytes")
        buttons.append(button)
    if not 1 <= len(buttons) <= 3:
        raise MenuError(f"{path.name}: WeChat allows 1 to 3 top-level buttons")
    return Menu(tuple(buttons))
