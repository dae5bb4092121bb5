"""Repair flows: each kind offers its own, by issue id prefix (`Kind.fix_flows`)."""

from __future__ import annotations

from homeassistant.components.repairs import ConfirmRepairFlow, RepairsFlow
from homeassistant.core import HomeAssistant

from .catalog import KINDS
from .const import ISSUE_LOST_DESTINATION
from .lost_destinations import LostDestinationRepairFlow


async def async_create_fix_flow(
    hass: HomeAssistant,
    issue_id: str,
    data: dict[str, str | int | float | None] | None,
) -> RepairsFlow:
    """Return the flow of the kind whose issue this is (or a shared one)."""
    if issue_id.startswith(f"{ISSUE_LOST_DESTINATION}_") and data:
        return LostDestinationRepairFlow(dict(data))
    for kind in KINDS.values():
        for prefix, flow in kind.fix_flows.items():
            if issue_id.startswith(f"{prefix}_") and data:
                return flow(dict(data))
    return ConfirmRepairFlow()
