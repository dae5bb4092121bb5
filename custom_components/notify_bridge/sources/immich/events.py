"""What the Immich watcher reports, and the context a route's template sees of it.
No Home Assistant import."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from ...pipeline.models import BridgeEvent, MediaItem, MediaType, freeze
from .client import (
    AssetDetails,
    AssetType,
    MediaBlob,
    MediaVariant,
)
from .state import Sharing

SOURCE_KIND = "immich"


class WatchEventType(StrEnum):
    """What happened to a watched album."""

    ASSETS_ADDED = "assets_added"
    ASSETS_REMOVED = "assets_removed"
    ALBUM_RENAMED = "album_renamed"
    ALBUM_DELETED = "album_deleted"
    SHARING_CHANGED = "sharing_changed"


# --- events ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AlbumInfo:
    """The album an event is about, as templates see it."""

    id: str
    name: str
    description: str
    asset_count: int
    shared: bool
    has_shared_link: bool
    owner_name: str | None
    url: str
    shared_link_url: str | None = None


@dataclass(frozen=True, slots=True)
class WatchEvent:
    """One change of a watched album."""

    type: WatchEventType
    album: AlbumInfo
    web_url: str
    # assets_added: described members (`ready` False = reported after the timeout).
    assets: tuple[AssetDetails, ...] = ()
    # assets_removed: ids of members that left the album, and details of the first
    # few that still exist on the server.
    removed_ids: tuple[str, ...] = ()
    removed_assets: tuple[AssetDetails, ...] = ()
    # album_renamed: the name before.
    old_name: str | None = None
    # sharing_changed: before and after.
    sharing_before: Sharing | None = None
    sharing_after: Sharing | None = None


@dataclass(frozen=True, slots=True)
class PollResult:
    """What one poll found."""

    events: tuple[WatchEvent, ...]
    # Whether the state changed, i.e. whether the glue should schedule a save.
    state_changed: bool
    # How many albums were listed again (0 on an idle poll).
    albums_listed: int
    reconciled: bool


# --- what the glue hands to the pipeline ----------------------------------------------


def _asset_context(asset: AssetDetails, web_url: str) -> dict[str, Any]:
    return {
        "id": asset.id,
        "type": asset.type.value,
        "file_name": asset.file_name,
        "taken_at": asset.taken_at,
        "owner": asset.owner_name,
        "description": asset.description,
        "people": list(asset.people),
        "city": asset.city,
        "country": asset.country,
        "favorite": asset.favorite,
        "rating": asset.rating,
        "media_ready": asset.ready,
        "url": asset_url(web_url, asset.id),
    }


def asset_url(web_url: str, asset_id: str) -> str:
    """Return the link to an asset in Immich's web app."""
    return f"{web_url.rstrip('/')}/photos/{asset_id}"


def _removed_context(asset_id: str, web_url: str) -> dict[str, Any]:
    """Describe a removed member with the same keys as an added one."""
    return {
        "id": asset_id,
        "type": None,
        "file_name": None,
        "taken_at": None,
        "owner": None,
        "description": None,
        "people": [],
        "city": None,
        "country": None,
        "favorite": None,
        "rating": None,
        "media_ready": None,
        "url": asset_url(web_url, asset_id),
    }


def _sharing_context(sharing: Sharing | None) -> dict[str, Any] | None:
    if sharing is None:
        return None
    return {
        "shared": sharing.shared,
        "has_shared_link": sharing.has_shared_link,
        "members": len(sharing.members),
    }


def build_event_context(event: WatchEvent) -> dict[str, Any]:
    """Return the template context of an event; the same keys for every event type.

    Built only from the parsed dataclasses, so it is identical on Immich v2 and v3.
    """
    album = event.album
    added = [_asset_context(asset, event.web_url) for asset in event.assets]
    described = {asset.id: asset for asset in event.removed_assets}
    removed = [
        _asset_context(described[asset_id], event.web_url)
        if asset_id in described
        else _removed_context(asset_id, event.web_url)
        for asset_id in event.removed_ids
    ]
    return {
        "event": event.type.value,
        "album": {
            "id": album.id,
            "name": album.name,
            "description": album.description,
            "asset_count": album.asset_count,
            "shared": album.shared,
            "owner": album.owner_name,
            "url": album.url,
            "link": album.shared_link_url or album.url,
            "shared_link_url": album.shared_link_url,
        },
        "assets": added or removed,
        "added_count": len(added),
        "removed_count": len(removed),
        "photo_count": sum(1 for a in event.assets if a.type is AssetType.IMAGE),
        "video_count": sum(1 for a in event.assets if a.type is AssetType.VIDEO),
        "old_name": event.old_name,
        "new_name": album.name if event.type is WatchEventType.ALBUM_RENAMED else None,
        "sharing": _sharing_context(event.sharing_after),
        "sharing_before": _sharing_context(event.sharing_before),
    }


def to_bridge_event(
    event: WatchEvent, source_entry_id: str, occurred_at: datetime | None = None
) -> BridgeEvent:
    """Turn a watch event into the pipeline's normalized event (media added later)."""
    return BridgeEvent(
        source_entry_id=source_entry_id,
        source_kind=SOURCE_KIND,
        event_type=event.type.value,
        data=freeze(build_event_context(event)),
        occurred_at=occurred_at or datetime.now(UTC),
    )


def media_item(asset: AssetDetails, blob: MediaBlob) -> MediaItem:
    """Wrap downloaded bytes for a target, with an identity its upload cache can use."""
    # Thumbnails and previews of a video are still JPEG stills.
    is_video = asset.type is AssetType.VIDEO and blob.variant in (
        MediaVariant.ORIGINAL,
        MediaVariant.PLAYBACK,
    )
    return MediaItem(
        type=MediaType.VIDEO if is_video else MediaType.PHOTO,
        data=blob.data,
        identity=blob.identity,
        filename=asset.file_name or None,
    )
