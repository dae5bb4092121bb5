"""The user documentation covers what the integration offers (quality scale:
docs-actions, docs-configuration-parameters): every action with each of its fields
and an example, every kind with each field of its forms, and no dead link."""

from __future__ import annotations

import json
from pathlib import Path
import re

import pytest
import yaml

from custom_components.notify_bridge.catalog import KINDS

REPO = Path(__file__).parents[1]
ROOT = REPO / "custom_components" / "notify_bridge"
DOCS = REPO / "docs"
STRINGS = json.loads((ROOT / "strings.json").read_text())
SERVICES = yaml.safe_load((ROOT / "services.yaml").read_text())


def section(path: Path, heading: re.Pattern[str]) -> str:
    """The text under the first `## ` heading matching, up to the next `## `."""
    parts = re.split(r"^## ", path.read_text(), flags=re.MULTILINE)
    found = [part for part in parts[1:] if heading.search(part.splitlines()[0])]
    assert found, f"{path.name} has no section matching {heading.pattern}"
    return found[0]


@pytest.mark.parametrize("service", list(SERVICES))
def test_every_action_is_documented(service: str) -> None:
    """Its section names every field and has an example calling it."""
    text = section(DOCS / "actions.md", re.compile(rf"`notify_bridge\.{service}`"))
    fields = (SERVICES[service] or {}).get("fields", {})
    assert [field for field in fields if f"`{field}`" not in text] == []
    assert f"action: notify_bridge.{service}" in text


@pytest.mark.parametrize("kind_id", list(KINDS))
def test_every_kind_and_field_is_documented(kind_id: str) -> None:
    """The kind's section names each field of its create form and of its
    subentry's form (by the key stored in the entry)."""
    text = section(DOCS / "configuration.md", re.compile(rf"\({kind_id}\)"))
    subentry = STRINGS["config_subentries"][KINDS[kind_id].subentry_type]
    fields = {
        *STRINGS["config"]["step"][kind_id].get("data", {}),
        *subentry["step"]["user"].get("data", {}),
    }
    assert sorted(field for field in fields if f"`{field}`" not in text) == []


LINK = re.compile(r"\]\(([^)#\s]+)(#[^)]*)?\)")


@pytest.mark.parametrize(
    "page", [REPO / "README.md", *sorted(DOCS.glob("*.md"))], ids=lambda p: p.name
)
def test_links_lead_somewhere(page: Path) -> None:
    """Relative links of the docs and the README point at files that exist."""
    targets = [m.group(1) for m in LINK.finditer(page.read_text())]
    local = [t for t in targets if not re.match(r"[a-z]+:", t)]
    assert [t for t in local if not (page.parent / t).exists()] == []


def test_the_checks_can_fail(tmp_path: Path) -> None:
    """A page without the section is reported; a dead link is found."""
    page = tmp_path / "x.md"
    page.write_text("# X\n\n## Other\n\nsee [it](missing.md)\n")
    with pytest.raises(AssertionError):
        section(page, re.compile("notify_bridge"))
    assert [m.group(1) for m in LINK.finditer(page.read_text())] == ["missing.md"]
