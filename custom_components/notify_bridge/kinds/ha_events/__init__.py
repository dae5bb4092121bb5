"""The Home Assistant events source: any event on the bus ("event route" subentries)."""

from __future__ import annotations

from ...const import SUBENTRY_HA_EVENTS_ROUTE, EntryKind
from ...runtime import EntrySteps, Kind
from ..shared.entities import source_entities
from ..shared.flows import rename_step
from .config_flow import EventRouteFlow, HaEventsEntryFlow
from .preview import ROUTE_PREVIEW
from .setup import async_setup_ha_events

KIND = Kind(
    kind=EntryKind.HA_EVENTS,
    manufacturer="Home Assistant",
    setup=async_setup_ha_events,
    entry_steps=EntrySteps(
        create=HaEventsEntryFlow.async_step_ha_events,
        reconfigure=rename_step,
        flow=HaEventsEntryFlow,
    ),
    subentry_type=SUBENTRY_HA_EVENTS_ROUTE,
    subentry_flow=EventRouteFlow,
    entities=source_entities(route_model="Event route"),
    route_preview=ROUTE_PREVIEW,
)
