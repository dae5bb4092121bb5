"""Every flow text a kind can show is translated, in the kind's own words."""

from __future__ import annotations

import ast
import json
from pathlib import Path
import re
from string import Formatter

import pytest

from custom_components.notify_bridge.catalog import KINDS

ROOT = Path(__file__).parents[1] / "custom_components" / "notify_bridge"
STRINGS = json.loads((ROOT / "strings.json").read_text())
FLOW_FILES = [
    *ROOT.glob("kinds/*/config_flow.py"),
    ROOT / "kinds/immich/route_flow.py",
    ROOT / "kinds/shared/flows.py",
    ROOT / "kinds/shared/webhook_source.py",
    ROOT / "config_flow.py",
]


def test_english_matches_strings() -> None:
    """translations/en.json is strings.json."""
    assert json.loads((ROOT / "translations/en.json").read_text()) == STRINGS


def _keys_in(section: str) -> set[str]:
    keys = set(STRINGS["config"].get(section, {}))
    for sub in STRINGS["config_subentries"].values():
        keys |= set(sub.get(section, {}))
    return keys


def _flow_literals() -> set[str]:
    """Abort reasons and form errors written as literals in the flows."""
    found: set[str] = set()
    for path in FLOW_FILES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.keyword) and node.arg in ("reason", "error"):
                if isinstance(node.value, ast.Constant):
                    found.add(node.value.value)
            elif isinstance(node, ast.Dict):
                for value in node.values:
                    if isinstance(value, ast.Constant) and isinstance(value.value, str):
                        text = value.value
                        if text.replace("_", "").isalpha() and text.islower():
                            found.add(text)
    return found


def test_every_abort_and_error_is_translated() -> None:
    """Each literal reason or error key of a flow has a text."""
    literals = _flow_literals()
    assert {"telegram_invalid_auth", "no_albums", "webhook_hides_chats"} <= literals
    known = _keys_in("abort") | _keys_in("error")
    # Dict literals also hold form defaults and data keys: only error-like ones count.
    missing = {
        key
        for key in literals
        if key not in known
        and any(part in key for part in ("invalid", "already", "no_", "wrong", "not_"))
    }
    assert missing == set()


@pytest.mark.parametrize("kind_id", list(KINDS))
def test_each_kind_has_its_own_words(kind_id: str) -> None:
    """The create step, the subentry type and its buttons exist for every kind."""
    kind = KINDS[kind_id]
    assert STRINGS["config"]["step"][kind_id]["title"]
    assert kind_id in STRINGS["config"]["step"]["user"]["menu_options"]
    sub = STRINGS["config_subentries"][kind.subentry_type]
    assert sub["initiate_flow"]["user"].startswith("Add ")
    assert sub["entry_type"].lower() in sub["initiate_flow"]["user"].lower()
    assert {"user", "reconfigure"} <= set(sub["step"])
    assert "reconfigure_successful" in sub["abort"]
    if kind.entry_steps.reauth_confirm is not None:
        assert STRINGS["config"]["step"]["reauth_confirm"]["data"]


def test_subentry_words_differ_per_kind() -> None:
    """No two kinds share a subentry button: "Add chat", "Add album route", ..."""
    buttons = [
        STRINGS["config_subentries"][kind.subentry_type]["initiate_flow"]["user"]
        for kind in KINDS.values()
    ]
    assert len(set(buttons)) == len(KINDS)
    assert {"Add chat", "Add album route", "Add notification target"} <= set(buttons)


def test_kind_specific_aborts() -> None:
    """A duplicate says what is duplicated, per kind."""
    aborts = STRINGS["config"]["abort"]
    for key in (
        "telegram_already_configured",
        "immich_already_configured",
        "gitea_already_configured",
        "home_assistant_already_configured",
        "ha_events_already_configured",
    ):
        assert key in aborts
    assert "bot" in aborts["telegram_already_configured"]
    assert "already_configured" not in aborts


def _flatten(tree: dict, prefix: str = "") -> dict[str, str]:
    """Return every text of a translation tree by its dotted key."""
    flat: dict[str, str] = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            flat |= _flatten(value, f"{path}.")
        else:
            flat[path] = value
    return flat


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(text) if name is not None}


LANGUAGE_FILES = sorted((ROOT / "translations").glob("*.json"))


def test_russian_translation_exists() -> None:
    """Russian ships next to English (the predecessor shipped both)."""
    assert {path.stem for path in LANGUAGE_FILES} >= {"en", "ru"}


@pytest.mark.parametrize("path", LANGUAGE_FILES, ids=lambda path: path.stem)
def test_translation_is_complete(path: Path) -> None:
    """Every key of strings.json, no other key, with the same placeholders.

    The failure lists the exact keys, so texts added to strings.json in parallel
    can be translated at merge time.
    """
    source = _flatten(STRINGS)
    translated = _flatten(json.loads(path.read_text(encoding="utf-8")))
    missing = sorted(set(source) - set(translated))
    extra = sorted(set(translated) - set(source))
    assert not missing, f"{path.name} lacks: {', '.join(missing)}"
    assert not extra, f"{path.name} has keys strings.json lacks: {', '.join(extra)}"
    wrong = sorted(
        key
        for key, text in source.items()
        if _placeholders(text) != _placeholders(translated[key])
    )
    assert not wrong, f"{path.name}: placeholders differ in {', '.join(wrong)}"
    assert all(text.strip() for text in translated.values())


def test_russian_is_russian() -> None:
    """ru.json is a translation, not a copy: texts with words are in Cyrillic."""
    source = _flatten(STRINGS)
    russian = _flatten(json.loads((ROOT / "translations/ru.json").read_text()))
    worded = [key for key, text in source.items() if len(text.split()) >= 3]
    latin = [
        key
        for key in worded
        if not re.search("[\u0430-\u044f\u0451]", russian[key], re.I)
    ]
    assert latin == []
