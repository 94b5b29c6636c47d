"""Every user-facing sentence is a Jinja template in ``bot/templates/*.txt.j2``.

Why Jinja with ``StrictUndefined``: a handler that forgets a variable fails loudly in tests
instead of sending a half-empty bubble. Plain text, so no HTML autoescaping. All templates
are compiled once at start-up, never per message.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template

from .context import Say

__all__ = ["TEMPLATE_DIR", "TEMPLATE_SUFFIX", "Renderer"]

TEMPLATE_DIR = Path(__file__).with_name("templates")
TEMPLATE_SUFFIX = ".txt.j2"


def _yuan(value: Any) -> str:
    """12345 → ``12,345``; 916.8 → ``916.80`` (money as users read it)."""
    number = float(value)
    if number == int(number) and not isinstance(value, float):
        return f"{int(number):,}"
    return f"{number:,.2f}"


def _percent(value: Any, digits: int = 2) -> str:
    """0.1825 → ``18.25%``; trailing zeros dropped (0.12 → ``12%``)."""
    text = f"{float(value) * 100:.{digits}f}".rstrip("0").rstrip(".")
    return f"{text}%"


class Renderer:
    """Renders :class:`~bot.context.Say` items to text with a shared, pre-compiled env."""

    def __init__(self, template_dir: Path = TEMPLATE_DIR) -> None:
        self.env = Environment(
            loader=FileSystemLoader(str(template_dir)),
            undefined=StrictUndefined,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            auto_reload=False,  # templates are compiled once; no stat() per render
        )
        self.env.filters["yuan"] = _yuan
        self.env.filters["percent"] = _percent
        self._templates: dict[str, Template] = {
            name[: -len(TEMPLATE_SUFFIX)]: self.env.get_template(name)
            for name in self.env.list_templates()
            if name.endswith(TEMPLATE_SUFFIX)
        }

    @property
    def names(self) -> frozenset[str]:
        """Names of all templates (without the suffix)."""
        return frozenset(self._templates)

    def render_one(self, name: str, context: Mapping[str, Any] | None = None) -> str:
        """Render one template to stripped text."""
        return self._templates[name].render(context or {}).strip()

    def render(self, says: Iterable[Say]) -> str:
        """Render several pieces into one bubble, separated by a blank line."""
        parts = [self.render_one(say.template, say.context) for say in says]
        return "\n\n".join(part for part in parts if part)
