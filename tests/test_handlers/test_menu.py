"""The custom menu: the shipped file loads; broken copies fail naming file and field."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from wxloan.handlers.menu import MENU_PATH, MenuError, load_menu


@pytest.fixture
def shipped_text() -> str:
    return MENU_PATH.read_text(encoding="utf-8")


def test_shipped_menu_loads() -> None:
    menu = load_menu()
    assert [(b.key, b.choice, b.flow) for b in menu.buttons] == [
        ("ELIGIBILITY", 1, "eligibility"),
        ("REJECTION", 2, "rejection"),
        ("LIMIT_TIPS", 3, "limits"),
    ]
    assert menu.by_choice(2) is menu.by_key("REJECTION") is menu.buttons[1]
    assert menu.wechat_json()["button"] == [
        {"type": "click", "name": b.name, "key": b.key} for b in menu.buttons
    ]


def test_type_is_optional_and_unused_keys_are_ignored(tmp_path: Path, shipped_text: str) -> None:
    path = tmp_path / "menu.toml"
    path.write_text(
        shipped_text.replace('type = "click"\n', "", 1).replace(
            "choice = 2\n", 'choice = 2\ncomment = "kept as before"\n', 1
        ),
        encoding="utf-8",
    )
    assert load_menu(path) == load_menu()


_FOURTH = '\n[[buttons]]\nname = "更多"\nkey = "MORE"\nchoice = 4\nflow = "limits"\n'


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('name = "能否开通"\n', "", "menu.toml: buttons[0].name: missing"),
        ('name = "被拒诊断"', "name = 2", "menu.toml: buttons[1].name: expected string, got int"),
        ('key = "REJECTION"', 'key = " "', "menu.toml: buttons[1].key: must not be empty"),
        ("choice = 3", 'choice = "3"', "menu.toml: buttons[2].choice: expected integer, got str"),
        ("choice = 3", "choice = true", "menu.toml: buttons[2].choice: expected integer, got bool"),
        (
            'type = "click"',
            'type = "view"',
            "menu.toml: buttons[0].type: only 'click' buttons are supported",
        ),
        (
            'flow = "limits"',
            'flow = "pricing"',
            (
                "menu.toml: buttons[2].flow: "
                "expected one of eligibility, limits, rejection, got 'pricing'"
            ),
        ),
        (
            'name = "提额建议"',
            'name = "提额建议提额建议"',
            "menu.toml: buttons[2].name: WeChat allows at most 16 bytes (UTF-8), got 24",
        ),
        (
            'key = "LIMIT_TIPS"',
            f'key = "{"K" * 129}"',
            "menu.toml: buttons[2].key: WeChat allows at most 128 bytes (UTF-8), got 129",
        ),
        (
            'flow = "limits"\n',
            'flow = "limits"\n' + _FOURTH,
            "menu.toml: buttons: WeChat allows 1 to 3 top-level buttons, got 4",
        ),
    ],
)
def test_broken_menu_is_rejected(
    tmp_path: Path, shipped_text: str, old: str, new: str, message: str
) -> None:
    assert old in shipped_text
    path = tmp_path / "menu.toml"
    path.write_text(shipped_text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(MenuError) as caught:
        load_menu(path)
    assert str(caught.value) == message


def test_buttons_must_be_an_array_of_tables(tmp_path: Path) -> None:
    path = tmp_path / "menu.toml"
    path.write_text("# nothing yet\n", encoding="utf-8")
    with pytest.raises(MenuError, match=r"^menu\.toml: buttons: WeChat allows 1 to 3 .*got 0$"):
        load_menu(path)
    path.write_text("buttons = 1\n", encoding="utf-8")
    with pytest.raises(
        MenuError, match=r"^menu\.toml: buttons: expected array of tables, got int$"
    ):
        load_menu(path)
    path.write_text("buttons = [1]\n", encoding="utf-8")
    with pytest.raises(MenuError, match=r"^menu\.toml: buttons\[0\]: expected table, got int$"):
        load_menu(path)


def test_broken_toml_is_a_menu_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "menu.toml"
    path.write_text("[[buttons]\n", encoding="utf-8")
    with pytest.raises(MenuError, match=r"^menu\.toml: invalid TOML: "):
        load_menu(path)
    assert issubclass(MenuError, ValueError)  # as tomllib.TOMLDecodeError was
    assert issubclass(tomllib.TOMLDecodeError, ValueError)
