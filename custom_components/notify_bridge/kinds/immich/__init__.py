"""The Immich source: one entry per server and user, "album route" subentries."""

from __future__ import annotations

from homeassistant.const import Platform

from ...const import ISSUE_ALBUM_DELETED, SUBENTRY_IMMICH_ROUTE, EntryKind
from ...runtime import EntrySteps, Kind, MediaField
from ...sources.immich.events import WatchEventType
from ..shared.entities import source_entities
from .actions import ATTR_IMMICH_ASSET_ID, async_fetch_asset, validate_asset_id
from .config_flow import ImmichEntryFlow
from .coordinator import store_key
from .entities import ROUTE_MODEL, route_entities
from .preview import ROUTE_PREVIEW
from .repairs import AlbumDeletedRepairFlow
from .route_flow import AlbumRouteFlow
from .scheduled import async_digest_media
from .setup import async_setup_immich

KIND = Kind(
    kind=EntryKind.IMMICH,
    manufacturer="Immich",
    setup=async_setup_immich,
    entry_steps=EntrySteps(
        create=ImmichEntryFlow.async_step_immich,
        reconfigure=ImmichEntryFlow.immich_reconfigure,
        reauth_confirm=ImmichEntryFlow.immich_reauth_confirm,
        flow=ImmichEntryFlow,
    ),
    subentry_type=SUBENTRY_IMMICH_ROUTE,
    subentry_flow=AlbumRouteFlow,
    entities=source_entities(
        route_model=ROUTE_MODEL,
        problem=True,
        event_types=[event.value for event in WatchEventType],
        extra={Platform.SENSOR: route_entities},
    ),
    store_keys=lambda entry: [store_key(entry.entry_id)],
    diagnostics=lambda entry: {
        "coordinator": entry.runtime_data.coordinator.diagnostics()
    },
    fix_flows={ISSUE_ALBUM_DELETED: AlbumDeletedRepairFlow},
    media_fields={
        ATTR_IMMICH_ASSET_ID: MediaField(
            validate=validate_asset_id, fetch=async_fetch_asset
        )
    },
    poller=lambda entry: entry.runtime_data.coordinator,
    digest_media=async_digest_media,
    route_preview=ROUTE_PREVIEW,
)
