"""Helpers every kind's tests share: entries, subentries and flows of a kind."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import SOURCE_USER, ConfigSubentryDataWithId
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.notify_bridge.catalog import KINDS
from custom_components.notify_bridge.const import DOMAIN, ENTRY_VERSION


def subentry(
    kind: str,
    subentry_id: str,
    title: str,
    data: dict[str, Any],
    unique_id: str | None = None,
) -> ConfigSubentryDataWithId:
    """Describe a subentry of a kind (a chat, an album route, ...)."""
    return ConfigSubentryDataWithId(
        subentry_id=subentry_id,
        subentry_type=KINDS[kind].subentry_type,
        title=title,
        unique_id=unique_id,
        data=data,
    )


def kind_entry(
    hass: HomeAssistant,
    kind: str,
    *,
    data: dict[str, Any] | None = None,
    subentries: list[ConfigSubentryDataWithId] | None = None,
    **kwargs: Any,
) -> MockConfigEntry:
    """Add an entry of a kind to Home Assistant (not set up)."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        version=ENTRY_VERSION,
        data={"kind": kind, **(data or {})},
        subentries_data=subentries or [],
        **kwargs,
    )
    entry.add_to_hass(hass)
    return entry


async def start_entry_flow(hass: HomeAssistant, kind: str) -> dict[str, Any]:
    """Open the config flow and pick a kind from the menu; return its first step."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.MENU
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": kind}
    )


async def start_subentry_flow(
    hass: HomeAssistant, entry: MockConfigEntry
) -> dict[str, Any]:
    """Open the add flow of the entry's kind's subentry type."""
    subentry_type = KINDS[entry.data["kind"]].subentry_type
    return await hass.config_entries.subentries.async_init(
        (entry.entry_id, subentry_type), context={"source": SOURCE_USER}
    )


def subentry_type(entry: MockConfigEntry) -> str:
    """Return the subentry type of the entry's kind."""
    return KINDS[entry.data["kind"]].subentry_type


def typed(kind: str, subentries: list[ConfigSubentryDataWithId]) -> list[Any]:
    """Return subentries with the subentry type of a kind."""
    return [{**sub, "subentry_type": KINDS[kind].subentry_type} for sub in subentries]
