"""What an album route is previewed with: a sample change of each event type, given
the template context a real change gets (`build_event_context`)."""

from __future__ import annotations

from datetime import UTC, datetime

from homeassistant.config_entries import ConfigSubentry

from ...pipeline.models import BridgeEvent, Route, freeze
from ...runtime import RoutePreview
from ...sources.immich.client import AssetDetails, AssetType
from ...sources.immich.events import (
    SOURCE_KIND,
    AlbumInfo,
    WatchEvent,
    WatchEventType,
    build_event_context,
)
from ...sources.immich.routes import ROUTE_KEY, RouteConfig
from ...sources.immich.state import Sharing

SAMPLE_WEB_URL = "https://immich.example"
SAMPLE_TIME = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
_ALBUM = AlbumInfo(
    id="sample-album",
    name="Summer 2025",
    description="Holidays at the lake",
    asset_count=42,
    shared=True,
    has_shared_link=False,
    owner_name="Alice",
    url=f"{SAMPLE_WEB_URL}/albums/sample-album",
)
_ASSETS = tuple(
    AssetDetails(
        id=f"sample-asset-{index}",
        type=kind,
        file_name=name,
        taken_at="2025-07-14T10:30:00+02:00",
        owner_id="alice",
        owner_name="Alice",
        description="",
        people=("Bob",),
        city="Annecy",
        country="France",
        favorite=index == 1,
        rating=None,
        updated_at="2025-07-14T10:31:00+02:00",
        ready=True,
    )
    for index, (kind, name) in enumerate(
        [(AssetType.IMAGE, "IMG_0001.jpg"), (AssetType.VIDEO, "VID_0002.mp4")], 1
    )
)


def sample_watch_event(event_type: WatchEventType) -> WatchEvent:
    """Return a change of the sample album of one type."""
    assets = _ASSETS if event_type is WatchEventType.ASSETS_ADDED else ()
    removed = event_type is WatchEventType.ASSETS_REMOVED
    sharing = event_type is WatchEventType.SHARING_CHANGED
    return WatchEvent(
        type=event_type,
        album=_ALBUM,
        web_url=SAMPLE_WEB_URL,
        assets=assets,
        removed_ids=tuple(asset.id for asset in _ASSETS) if removed else (),
        removed_assets=_ASSETS if removed else (),
        old_name="Summer" if event_type is WatchEventType.ALBUM_RENAMED else None,
        sharing_before=Sharing(False, False, ()) if sharing else None,
        sharing_after=Sharing(True, False, ("bob:viewer",)) if sharing else None,
    )


def sample_event(source_entry_id: str, event_type: str) -> BridgeEvent:
    """Return the sample change as the pipeline event a route would see."""
    kind = WatchEventType(event_type)
    context = build_event_context(sample_watch_event(kind))
    context[ROUTE_KEY] = {"id": "preview", "name": "Sample route"}
    return BridgeEvent(
        source_entry_id=source_entry_id,
        source_kind=SOURCE_KIND,
        event_type=kind.value,
        data=freeze(context),
        occurred_at=SAMPLE_TIME,
        item_key=_ALBUM.id,
    )


def preview_routes(source_entry_id: str, subentry: ConfigSubentry) -> tuple[Route, ...]:
    """Return the pipeline routes of an album route (one per selected event)."""
    config = RouteConfig.from_data(
        subentry.subentry_id, subentry.title, source_entry_id, subentry.data
    )
    return config.pipeline_routes()


ROUTE_PREVIEW = RoutePreview(routes=preview_routes, sample_event=sample_event)
