"""The Planka source: a bearer-token webhook and "board route" subentries."""

from __future__ import annotations

from ...const import SUBENTRY_PLANKA_ROUTE, EntryKind
from ...runtime import EntrySteps, Kind
from ..shared.entities import source_entities
from ..shared.webhook_source import webhook_store_key
from .config_flow import EVENT_TYPES, BoardRouteFlow, PlankaEntryFlow
from .preview import ROUTE_PREVIEW
from .setup import async_setup_planka

KIND = Kind(
    kind=EntryKind.PLANKA,
    manufacturer="Planka",
    setup=async_setup_planka,
    entry_steps=EntrySteps(
        create=PlankaEntryFlow.async_step_planka,
        reconfigure=PlankaEntryFlow.planka_reconfigure,
        flow=PlankaEntryFlow,
    ),
    subentry_type=SUBENTRY_PLANKA_ROUTE,
    subentry_flow=BoardRouteFlow,
    entities=source_entities(route_model="Board route", event_types=EVENT_TYPES),
    store_keys=lambda entry: [webhook_store_key(entry.entry_id)],
    route_preview=ROUTE_PREVIEW,
)
