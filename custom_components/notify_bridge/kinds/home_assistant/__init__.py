"""The Home Assistant target: notifications as persistent notifications, notify
entities or legacy notify services ("notification target" subentries)."""

from __future__ import annotations

from ...const import SUBENTRY_HA_TARGET, EntryKind
from ...runtime import EntrySteps, Kind
from ..shared.entities import target_entities
from ..shared.flows import rename_step
from .config_flow import HomeAssistantEntryFlow, NotificationTargetFlow
from .setup import async_setup_home_assistant
from .target import output_format_for

KIND = Kind(
    kind=EntryKind.HOME_ASSISTANT,
    manufacturer="Home Assistant",
    setup=async_setup_home_assistant,
    entry_steps=EntrySteps(
        create=HomeAssistantEntryFlow.async_step_home_assistant,
        reconfigure=rename_step,
        flow=HomeAssistantEntryFlow,
    ),
    subentry_type=SUBENTRY_HA_TARGET,
    subentry_flow=NotificationTargetFlow,
    entities=target_entities("Notification target"),
    output_format=output_format_for,
)
