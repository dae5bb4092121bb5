"""Every field of the shared forms has a label and a description (no raw keys such
as `max_pending` in the UI)."""

from __future__ import annotations

import json
from pathlib import Path

from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import section
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

STRINGS = json.loads(
    (
        Path(__file__).parents[1] / "custom_components/notify_bridge/strings.json"
    ).read_text(encoding="utf-8")
)


@pytest.mark.usefixtures("setup_integration")
@pytest.mark.parametrize(
    ("entry_fixture", "subentry_type"),
    [("target_entry", "notification_target"), ("source_entry", "event_route")],
)
async def test_every_field_is_labelled_and_described(
    hass: HomeAssistant,
    request: pytest.FixtureRequest,
    entry_fixture: str,
    subentry_type: str,
) -> None:
    """The add form's fields all have words in strings.json."""
    entry: MockConfigEntry = request.getfixturevalue(entry_fixture)
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, subentry_type), context={"source": SOURCE_USER}
    )
    step = STRINGS["config_subentries"][subentry_type]["step"][result["step_id"]]
    schema = result["data_schema"].schema
    # Collapsed sections are described under the step's "sections", their fields there.
    sections = {str(key) for key, value in schema.items() if isinstance(value, section)}
    fields = {str(key) for key in schema} - sections
    assert sections - set(step.get("sections", {})) == set()
    quiet = step.get("sections", {}).get("quiet_hours", {}).get("data", {})
    assert "max_pending" in quiet or subentry_type == "event_route"
    assert fields - set(step["data"]) == set()
    assert fields - set(step["data_description"]) == set()
