"""Home Assistant's hassfest rules for translations, services and icons.

hassfest (script/hassfest in Home Assistant core) is not shipped in the wheel, so
this test checks its documented rules itself, on every run, for every string any
engineer adds:

- translation keys match `[a-z0-9-_]+`, neither starting nor ending with `-` or `_`
  and without two separators in a row;
- no text looks like HTML (Home Assistant's own `cv.string_with_no_html`), none holds
  a URL (since 2026: "please use description placeholders instead"), no placeholder
  sits in single quotes, placeholders are identifiers, no leading/trailing spaces;
- every form field of every step has a `data_description` and every
  `data_description` names a field (hassfest checks the second; core review the
  first);
- services.yaml, the `services` of strings.json and of icons.json list the same
  actions; each has a name and a description, each field a name and a description.

Manifest order and keys are checked by tests/test_brand.py. The forms the flows
really show are checked by tests/test_hassfest_flows.py.
"""

from __future__ import annotations

from collections.abc import Iterator
import json
from pathlib import Path
import re
import string
from typing import Any

from homeassistant.helpers import config_validation as cv
import pytest
import voluptuous as vol
import yaml

ROOT = Path(__file__).parents[1] / "custom_components" / "notify_bridge"
FILES = {
    name: json.loads((ROOT / name).read_text())
    for name in ("strings.json", "translations/en.json")
}
STRINGS = FILES["strings.json"]

# hassfest's documented key rule: [a-z0-9-_]+, no separator at either end, no two
# separators in a row.
TRANSLATION_KEY = re.compile(r"^(?![-_])(?!.*[-_]{2})[a-z0-9-_]+(?<![-_])$")
# Stricter than hassfest's URL pattern (which wants a letter TLD): any scheme with a
# host after it, or a www. host, is a URL to a reader.
URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s/]|\bwww\.[a-z0-9-]+\.", re.IGNORECASE)
SINGLE_QUOTED_PLACEHOLDER = re.compile(r"'\{\w+\}'")


def leaves(tree: dict[str, Any], path: str = "") -> Iterator[tuple[str, str]]:
    """Every string of a translation tree, by its dotted path."""
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from leaves(value, f"{path}{key}.")
        else:
            yield f"{path}{key}", value


def keys(tree: dict[str, Any], path: str = "") -> Iterator[tuple[str, str]]:
    """Every key of a translation tree, with the path of its parent."""
    for key, value in tree.items():
        yield path, key
        if isinstance(value, dict):
            yield from keys(value, f"{path}{key}.")


def placeholders(text: str) -> set[str]:
    """The `{name}` placeholders of a translation."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def flow_steps(strings: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every step of every flow: config, subentries, options, repair fix flows."""
    flows = {"config": strings.get("config", {}), "options": strings.get("options", {})}
    for name, flow in strings.get("config_subentries", {}).items():
        flows[f"config_subentries.{name}"] = flow
    for name, issue in strings.get("issues", {}).items():
        if "fix_flow" in issue:
            flows[f"issues.{name}.fix_flow"] = issue["fix_flow"]
    for flow_name, flow in flows.items():
        for step_id, step in flow.get("step", {}).items():
            yield f"{flow_name}.step.{step_id}", step
            for section, texts in step.get("sections", {}).items():
                yield f"{flow_name}.step.{step_id}.sections.{section}", texts


def value_problems(text: str) -> list[str]:
    """What hassfest would say about one translation string."""
    found = []
    try:
        cv.string_with_no_html(text)
    except vol.Invalid:
        found.append("looks like HTML")
    if URL.search(text):
        found.append("holds a URL (use a description placeholder)")
    if SINGLE_QUOTED_PLACEHOLDER.search(text):
        found.append("placeholder in single quotes")
    try:
        names = placeholders(text)
    except ValueError:
        return [*found, "unbalanced braces"]
    if any(not name.isidentifier() for name in names):
        found.append("placeholder is not an identifier")
    if text != text.strip():
        found.append("leading or trailing spaces")
    return found


@pytest.mark.parametrize("name", list(FILES))
def test_translation_keys(name: str) -> None:
    """Every key, at every level, is a valid translation key."""
    bad = [f"{path}{key}" for path, key in keys(FILES[name])]
    assert [
        key for key in bad if not TRANSLATION_KEY.match(key.rsplit(".", 1)[-1])
    ] == []


@pytest.mark.parametrize("name", list(FILES))
def test_translation_values(name: str) -> None:
    """No HTML-looking text, no URL, no quoted placeholder, no stray spaces."""
    problems = {
        path: found
        for path, text in leaves(FILES[name])
        if (found := value_problems(text))
    }
    assert problems == {}


@pytest.mark.parametrize("name", list(FILES))
def test_every_field_has_a_description(name: str) -> None:
    """Each step's `data` and `data_description` name the same fields."""
    mismatched = {
        path: {
            "no description": sorted(set(step.get("data", {})) - described),
            "no field": sorted(described - set(step.get("data", {}))),
        }
        for path, step in flow_steps(FILES[name])
        if set(step.get("data", {}))
        != (described := set(step.get("data_description", {})))
    }
    assert mismatched == {}


def test_rules_catch_what_hassfest_refuses() -> None:
    """The checks above fail on the texts hassfest refuses."""
    assert not TRANSLATION_KEY.match("IMAGE")
    assert not TRANSLATION_KEY.match("_image")
    assert not TRANSLATION_KEY.match("image__video")
    assert TRANSLATION_KEY.match("hmac_sha256")
    assert value_problems("signed as `<timestamp>.<body>`") == ["looks like HTML"]
    assert value_problems("for example https://photos.example.com.") != []
    assert value_problems("for example http://192.168.1.5:8081") != []
    assert value_problems("Enter an http:// or https:// address.") == []
    assert value_problems("Leave empty for api.telegram.org.") == []
    assert value_problems("The album '{album}'") == ["placeholder in single quotes"]
    assert value_problems("Edit {name}") == []
    step = {"data": {"url": "URL", "name": "Name"}, "data_description": {"url": "…"}}
    strings = {"config": {"step": {"x": step}}}
    assert [path for path, _ in flow_steps(strings)] == ["config.step.x"]


SERVICES_YAML = yaml.safe_load((ROOT / "services.yaml").read_text())
ICONS = json.loads((ROOT / "icons.json").read_text())


def test_services_icons_and_strings_agree() -> None:
    """services.yaml, strings.json and icons.json name the same actions."""
    assert set(SERVICES_YAML) == set(STRINGS["services"]) == set(ICONS["services"])
    assert all("service" in icon for icon in ICONS["services"].values())


@pytest.mark.parametrize("service", list(SERVICES_YAML))
def test_every_action_and_field_is_described(service: str) -> None:
    """Each action has a name and a description; each field both, and no extra."""
    texts = STRINGS["services"][service]
    assert texts["name"] and texts["description"]
    fields = (SERVICES_YAML[service] or {}).get("fields", {})
    assert set(fields) == set(texts.get("fields", {}))
    for field in fields:
        assert texts["fields"][field]["name"]
        assert texts["fields"][field]["description"]


QUALITY_SCALE = yaml.safe_load((ROOT / "quality_scale.yaml").read_text())["rules"]
HA_COMPONENTS = Path(cv.__file__).parents[1] / "components"


def _known_rules() -> set[str]:
    """Every rule the installed Home Assistant's own integrations list (hassfest
    makes each of them list all rules, so the union is the current rule set)."""
    rules: set[str] = set()
    for path in HA_COMPONENTS.glob("*/quality_scale.yaml"):
        rules |= set((yaml.safe_load(path.read_text()) or {}).get("rules", {}))
    return rules


def test_quality_scale_lists_every_rule_with_reasons() -> None:
    """Every current rule (docs-triggers, docs-conditions, … included) has a status;
    exempt and todo say why; a docs/ page named in a comment exists."""
    known = _known_rules()
    assert {"docs-triggers", "docs-conditions", "strict-typing"} <= known
    assert sorted(known - set(QUALITY_SCALE)) == []
    assert sorted(set(QUALITY_SCALE) - known) == []
    for rule, value in QUALITY_SCALE.items():
        status = value if isinstance(value, str) else value["status"]
        assert status in ("done", "todo", "exempt"), rule
        if status != "done":
            assert isinstance(value, dict) and value.get("comment"), rule
        comment = value.get("comment", "") if isinstance(value, dict) else ""
        for page in re.findall(r"docs/[\w-]+\.md", comment):
            assert (ROOT.parents[1] / page).exists(), (rule, page)
