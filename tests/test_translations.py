"""Every flow text a kind can show is translated, in the kind's own words."""

from __future__ import annotations

import ast
import json
from pathlib import Path

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
