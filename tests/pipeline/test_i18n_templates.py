"""Template helpers for languages (`plural`, `number`), and the bot's words living
in the one table of built-in texts."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from custom_components.notify_bridge.pipeline.i18n import plural_form
from custom_components.notify_bridge.pipeline.i18n_texts import TEXTS
from custom_components.notify_bridge.pipeline.render import validate_template
from custom_components.notify_bridge.pipeline.render_classify import (
    renders_in_process,
)
from custom_components.notify_bridge.pipeline.render_core import render_isolated
from custom_components.notify_bridge.pipeline.render_env import _ENVIRONMENT
from custom_components.notify_bridge.targets.telegram.commands import (
    BUILTIN_COMMANDS,
)

TELEGRAM = (
    Path(__file__).parents[2] / "custom_components/notify_bridge/targets/telegram"
)
PHOTOS = "{{ n }} {{ n | plural('фото', 'фотографии', 'фотографий') }}"


def render(source: str, **context: object) -> str:
    """Render a template with a context."""
    validate_template(source)
    return render_isolated(source, context, "plain", 2.0, 10_000)


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (1, "1 фото"),
        (2, "2 фотографии"),
        (5, "5 фотографий"),
        (11, "11 фотографий"),
        (21, "21 фото"),
        (22, "22 фотографии"),
        (112, "112 фотографий"),
        (0, "0 фотографий"),
    ],
)
def test_plural_filter_in_russian(count: int, expected: str) -> None:
    """Russian forms by the CLDR rule: one (1, 21), few (2-4, 22), many (5-20, 0)."""
    assert render(PHOTOS, n=count, language="ru") == expected


def test_plural_filter_in_english_and_fallbacks() -> None:
    """English takes (one, other); fewer forms than categories use the last; any
    other language is English; a non-number takes the last form."""
    english = "{{ n }} {{ n | plural('photo', 'photos') }}"
    assert render(english, n=1, language="en") == "1 photo"
    assert render(english, n=3) == "3 photos"
    assert render(english, n=1, language="de") == "1 photo"
    assert render("{{ n | plural('x') }}", n=5, language="ru") == "x"
    assert render("{{ n | plural() }}", n=5) == ""
    assert plural_form("ru", "many", ("a", "b", "c")) == "c"
    assert plural_form("ru", float("inf"), ("a", "b", "c")) == "c"


def test_number_filter_groups_digits_per_language() -> None:
    """10,000 in English; 10 000 (no-break space) in Russian; text is left alone."""
    assert render("{{ n | number }}", n=10000, language="en") == "10,000"
    assert render("{{ n | number }}", n=10000, language="ru") == "10\u00a0000"
    assert render("{{ n | number }}", n="ten") == "ten"


def test_language_filters_keep_the_fast_path() -> None:
    """Default templates use them, so they must not send a render to the pool."""
    for source in (PHOTOS, "{{ n | number }}"):
        assert renders_in_process(_ENVIRONMENT.parse(source), _ENVIRONMENT.tests)


def _bot_keys() -> set[str]:
    """Message keys the bot code asks for: text(language, "<key>", ...)."""
    keys: set[str] = {f"cmd_{name}" for name in BUILTIN_COMMANDS}
    for name in ("commands.py", "inbound.py"):
        for node in ast.walk(ast.parse((TELEGRAM / name).read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "text"
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
            ):
                keys.add(node.args[1].value)
    return keys


def test_every_bot_answer_is_in_the_table_in_every_language() -> None:
    """The bot has no table of its own: each key it uses is `bot.<key>` in TEXTS,
    in English and Russian."""
    keys = _bot_keys()
    assert {"help", "status_header", "latest_header", "muted", "slow_down"} <= keys
    for language, table in TEXTS.items():
        missing = sorted(key for key in keys if f"bot.{key}" not in table)
        assert missing == [], language
