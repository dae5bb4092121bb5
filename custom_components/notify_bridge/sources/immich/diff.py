"""Album watching: cheap when idle, exact when busy, and restartable.

One poll asks for the album list once. Each album is fingerprinted from that list
(`updatedAt`, `assetCount`, `lastModifiedAssetTimestamp`); only albums whose
fingerprint moved are listed again, lean, and diffed against a compact seen-set
(16 bytes per asset). New assets are described with one batched detail query; those
Immich is still processing (no thumbhash yet) are held and reported once ready, or
without media after a timeout. A slow full reconcile relists every album to catch
what a fingerprint could miss.

State is replaced, never patched, and only once a whole poll has succeeded: a
failing server leaves the watcher exactly as it was, so the next poll reports the
same changes once. Nothing here imports Home Assistant.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
import time
from types import MappingProxyType
from typing import Any

from ...pipeline.models import BridgeEvent, MediaItem, MediaType, freeze
from .client import (
    AlbumSummary,
    AssetDetails,
    AssetType,
    ImmichClient,
    MediaBlob,
    MediaVariant,
    SharedLink,
    pick_album_link,
)

SOURCE_KIND = "immich"
UUID_BYTES = 16
STATE_VERSION = 1
# How long an asset may stay "processing" before it is reported without media.
DEFAULT_PROCESSING_TIMEOUT = 10 * 60.0
# How often every album is listed regardless of its fingerprint.
DEFAULT_RECONCILE_INTERVAL = 6 * 3600.0
# Removed members described per album and poll: each costs one request (Immich has
# no bulk lookup outside an album), so a mass removal stays cheap; the rest are ids.
REMOVED_DETAILS_LIMIT = 10


class WatchEventType(StrEnum):
    """What happened to a watched album."""

    ASSETS_ADDED = "assets_added"
    ASSETS_REMOVED = "assets_removed"
    ALBUM_RENAMED = "album_renamed"
    ALBUM_DELETED = "album_deleted"
    SHARING_CHANGED = "sharing_changed"


# --- compact ids ----------------------------------------------------------------------


def pack_id(asset_id: str) -> bytes:
    """Return the 16 raw bytes of a UUID string."""
    raw = bytes.fromhex(asset_id.replace("-", ""))
    if len(raw) != UUID_BYTES:
        raise ValueError(f"not a UUID: {asset_id!r}")
    return raw


def unpack_id(raw: bytes) -> str:
    """Return the canonical UUID string of 16 raw bytes."""
    text = raw.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def pack_ids(keys: Iterable[bytes]) -> bytes:
    """Concatenate packed ids in sorted order (canonical, so equal sets compare equal)."""
    return concat_ids(sorted(keys))


def concat_ids(keys: Iterable[bytes]) -> bytes:
    """Concatenate packed ids.

    Not `b"".join`: for many parts it allocates an 80-byte buffer descriptor per part
    (8 MB for 100,000 ids), five times the size of the result.
    """
    buffer = bytearray()
    for key in keys:
        buffer += key
    return bytes(buffer)


def diff_sorted(blob: bytes, keys: list[bytes]) -> tuple[list[bytes], list[bytes]]:
    """Return (added, removed) between a sorted id blob and sorted keys.

    One merge pass, so diffing a huge album needs no set of its old members.
    """
    added: list[bytes] = []
    removed: list[bytes] = []
    position, end = 0, len(blob)
    for key in keys:
        while position < end and blob[position : position + UUID_BYTES] < key:
            removed.append(blob[position : position + UUID_BYTES])
            position += UUID_BYTES
        if position < end and blob[position : position + UUID_BYTES] == key:
            position += UUID_BYTES
        else:
            added.append(key)
    removed.extend(blob[i : i + UUID_BYTES] for i in range(position, end, UUID_BYTES))
    return added, removed


def iter_ids(blob: bytes) -> Iterator[bytes]:
    """Yield the packed ids of a blob one at a time (in their sorted order)."""
    for start in range(0, len(blob), UUID_BYTES):
        yield blob[start : start + UUID_BYTES]


# --- state ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What `GET /api/albums` says about an album's content; moves when it changes."""

    updated_at: str
    asset_count: int
    last_modified: str | None

    @classmethod
    def of(cls, album: AlbumSummary) -> Fingerprint:
        """Return the fingerprint of an album list entry."""
        return cls(
            album.updated_at, album.asset_count, album.last_modified_asset_timestamp
        )


@dataclass(frozen=True, slots=True)
class Sharing:
    """Who an album is shared with; compared on every poll, costs no request."""

    shared: bool
    has_shared_link: bool
    # Sorted "user id:role" pairs, so a role change counts as a sharing change.
    members: tuple[str, ...]

    @classmethod
    def of(cls, album: AlbumSummary) -> Sharing:
        """Return the sharing state of an album list entry."""
        members = tuple(sorted(f"{m.user.id}:{m.role}" for m in album.users))
        return cls(album.shared, album.has_shared_link, members)


@dataclass(frozen=True, slots=True)
class PendingAsset:
    """An album member seen while Immich was still processing it."""

    asset_id: str
    first_seen: float
    updated_at: str


@dataclass(frozen=True, slots=True)
class AlbumState:
    """What the watcher knows about one album."""

    album_id: str
    name: str
    fingerprint: Fingerprint
    sharing: Sharing
    # Sorted 16-byte ids of every member seen (reported or pending), concatenated.
    ids: bytes = field(repr=False)
    pending: tuple[PendingAsset, ...] = ()

    @property
    def known_assets(self) -> int:
        """Return how many members the seen-set holds."""
        return len(self.ids) // UUID_BYTES


@dataclass(frozen=True, slots=True)
class WatcherState:
    """Everything a watcher must remember across restarts."""

    albums: Mapping[str, AlbumState] = field(default_factory=dict)
    last_reconcile: float = 0.0

    def __post_init__(self) -> None:
        """Make the album map read-only, so a shared state cannot be patched."""
        object.__setattr__(self, "albums", MappingProxyType(dict(self.albums)))

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-friendly form the HA glue stores with `Store`."""
        return {
            "version": STATE_VERSION,
            "last_reconcile": self.last_reconcile,
            "albums": {
                album_id: _album_to_dict(album)
                for album_id, album in self.albums.items()
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WatcherState:
        """Rebuild a state from `to_dict` output; raise ValueError when malformed."""
        try:
            if data["version"] != STATE_VERSION:
                raise ValueError(f"unknown state version {data['version']!r}")
            albums = {
                str(album_id): _album_from_dict(str(album_id), raw)
                for album_id, raw in data["albums"].items()
            }
            return cls(albums=albums, last_reconcile=float(data["last_reconcile"]))
        except (KeyError, TypeError, AttributeError, IndexError) as err:
            raise ValueError(f"malformed Immich watcher state: {err!r}") from err


def _album_to_dict(album: AlbumState) -> dict[str, Any]:
    fingerprint = album.fingerprint
    return {
        "name": album.name,
        "fp": [
            fingerprint.updated_at,
            fingerprint.asset_count,
            fingerprint.last_modified,
        ],
        "sharing": [
            album.sharing.shared,
            album.sharing.has_shared_link,
            list(album.sharing.members),
        ],
        # base64 of the packed ids: ~21.3 bytes per asset on disk.
        "ids": base64.b64encode(album.ids).decode("ascii"),
        "pending": [[p.asset_id, p.first_seen, p.updated_at] for p in album.pending],
    }


def _album_from_dict(album_id: str, raw: Mapping[str, Any]) -> AlbumState:
    updated_at, asset_count, last_modified = raw["fp"]
    shared, has_link, members = raw["sharing"]
    ids = base64.b64decode(raw["ids"], validate=True)
    if len(ids) % UUID_BYTES:
        raise ValueError(f"seen-set of album {album_id} is not a multiple of 16 bytes")
    return AlbumState(
        album_id=album_id,
        name=str(raw["name"]),
        fingerprint=Fingerprint(str(updated_at), int(asset_count), last_modified),
        sharing=Sharing(bool(shared), bool(has_link), tuple(str(m) for m in members)),
        ids=ids,
        pending=tuple(
            PendingAsset(str(asset_id), float(first_seen), str(updated_at))
            for asset_id, first_seen, updated_at in raw["pending"]
        ),
    )


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


# --- the watcher ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _AlbumOutcome:
    """What polling one album produced; internal, merged into the poll result."""

    state: AlbumState
    events: list[WatchEvent]
    listed: bool = False


class AlbumWatcher:
    """Polls one Immich server for changes of the watched albums."""

    def __init__(
        self,
        client: ImmichClient,
        *,
        album_ids: Iterable[str] | None = None,
        state: WatcherState | None = None,
        processing_timeout: float = DEFAULT_PROCESSING_TIMEOUT,
        reconcile_interval: float = DEFAULT_RECONCILE_INTERVAL,
        web_url: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Watch `album_ids` (None = every album the key can see)."""
        self._client = client
        self._album_ids = frozenset(album_ids) if album_ids is not None else None
        self._state = state or WatcherState()
        self._processing_timeout = processing_timeout
        self._reconcile_interval = reconcile_interval
        self._web_url = (web_url or client.base_url).rstrip("/")
        self._clock = clock

    @property
    def state(self) -> WatcherState:
        """Return the current state (immutable; safe to serialize any time)."""
        return self._state

    @property
    def web_url(self) -> str:
        """Return the root of the links events carry (albums, assets)."""
        return self._web_url

    def watches(self, album_id: str) -> bool:
        """Return whether an album is watched."""
        return self._album_ids is None or album_id in self._album_ids

    async def async_poll(self) -> PollResult:
        """Poll once; on any error raise and leave the state untouched."""
        now = self._clock()
        previous = self._state.albums
        reconcile = now - self._state.last_reconcile >= self._reconcile_interval
        albums = {
            album.id: album
            for album in await self._client.async_get_albums()
            if self.watches(album.id)
        }
        new_states: dict[str, AlbumState] = {}
        events: list[WatchEvent] = []
        listed = 0
        for album_id, old in previous.items():
            if album_id in albums or not self.watches(album_id):
                # Listed (handled below) or no longer watched (forgotten quietly).
                continue
            if await self._client.async_album_exists(album_id):
                # Absent from the list but still readable: keep it, report nothing.
                new_states[album_id] = old
                continue
            events.append(self._deleted_event(old))
        for album in albums.values():
            outcome = await self._poll_album(
                album, previous.get(album.id), now, reconcile
            )
            new_states[album.id] = outcome.state
            events.extend(outcome.events)
            listed += outcome.listed
        events = await self._with_shared_links(events)
        state = WatcherState(
            albums=new_states,
            last_reconcile=now if reconcile else self._state.last_reconcile,
        )
        changed = state != self._state
        self._state = state
        return PollResult(tuple(events), changed, listed, reconcile)

    async def _poll_album(
        self,
        album: AlbumSummary,
        old: AlbumState | None,
        now: float,
        reconcile: bool,
    ) -> _AlbumOutcome:
        if old is None:
            return await self._baseline(album)
        events = self._metadata_events(album, old)
        if reconcile or Fingerprint.of(album) != old.fingerprint:
            outcome = await self._relist(album, old, now)
        elif old.pending:
            outcome = await self._recheck_pending(album, old, now)
        else:
            outcome = _AlbumOutcome(old, [])
        state = replace(
            outcome.state,
            name=album.name,
            fingerprint=Fingerprint.of(album),
            sharing=Sharing.of(album),
        )
        return _AlbumOutcome(state, [*events, *outcome.events], outcome.listed)

    async def _baseline(self, album: AlbumSummary) -> _AlbumOutcome:
        """Remember a newly watched album's members without reporting them."""
        listing = await self._client.async_list_album_assets(album.id)
        state = AlbumState(
            album_id=album.id,
            name=album.name,
            fingerprint=Fingerprint.of(album),
            sharing=Sharing.of(album),
            ids=pack_ids(pack_id(asset.id) for asset in listing),
        )
        return _AlbumOutcome(state, [], listed=True)

    def _metadata_events(
        self, album: AlbumSummary, old: AlbumState
    ) -> list[WatchEvent]:
        """Return rename and sharing events; both come from the list for free."""
        events: list[WatchEvent] = []
        info = self._album_info(album)
        if album.name != old.name:
            events.append(
                WatchEvent(
                    WatchEventType.ALBUM_RENAMED, info, self._web_url, old_name=old.name
                )
            )
        sharing = Sharing.of(album)
        if sharing != old.sharing:
            events.append(
                WatchEvent(
                    WatchEventType.SHARING_CHANGED,
                    info,
                    self._web_url,
                    sharing_before=old.sharing,
                    sharing_after=sharing,
                )
            )
        return events

    async def _relist(
        self, album: AlbumSummary, old: AlbumState, now: float
    ) -> _AlbumOutcome:
        """List an album's members again and diff them against the seen-set."""
        listing = await self._client.async_list_album_assets(album.id)
        keys = sorted(pack_id(asset.id) for asset in listing)
        new_keys, gone_keys = diff_sorted(old.ids, keys)
        pending = {p.asset_id: p for p in old.pending}
        removed: list[str] = []
        for key in gone_keys:
            asset_id = unpack_id(key)
            # A member that left before it was ever reported is not news.
            if pending.pop(asset_id, None) is None:
                removed.append(asset_id)
        fresh = {unpack_id(key) for key in new_keys}
        for asset in listing:
            if asset.id in fresh:
                pending[asset.id] = PendingAsset(asset.id, now, asset.updated_at)
        added, still_pending, vanished = await self._settle(album, pending, now)
        dropped = {pack_id(asset_id) for asset_id in vanished}
        ids = concat_ids(key for key in keys if key not in dropped)
        state = replace(old, ids=ids, pending=still_pending)
        removed.sort()
        removed_assets = await self._describe_removed(album, removed)
        events = self._asset_events(album, added, removed, removed_assets)
        return _AlbumOutcome(state, events, listed=True)

    async def _describe_removed(
        self, album: AlbumSummary, removed: list[str]
    ) -> list[AssetDetails]:
        """Describe the first few removed members that still exist on the server."""
        described = await self._client.async_get_assets(removed[:REMOVED_DETAILS_LIMIT])
        names = album.user_names()
        return [
            _with_owner_name(described[asset_id], names)
            for asset_id in removed
            if asset_id in described
        ]

    async def _recheck_pending(
        self, album: AlbumSummary, old: AlbumState, now: float
    ) -> _AlbumOutcome:
        """Ask only about held assets; the album itself did not change."""
        pending = {p.asset_id: p for p in old.pending}
        added, still_pending, vanished = await self._settle(album, pending, now)
        ids = old.ids
        if vanished:
            dropped = {pack_id(asset_id) for asset_id in vanished}
            ids = concat_ids(key for key in iter_ids(ids) if key not in dropped)
        state = replace(old, ids=ids, pending=still_pending)
        return _AlbumOutcome(state, self._asset_events(album, added, [], []))

    async def _settle(
        self, album: AlbumSummary, pending: Mapping[str, PendingAsset], now: float
    ) -> tuple[list[AssetDetails], tuple[PendingAsset, ...], list[str]]:
        """Split held assets into reportable, still held and vanished."""
        if not pending:
            return [], (), []
        details = await self._client.async_get_asset_details(
            album.id, {asset_id: p.updated_at for asset_id, p in pending.items()}
        )
        names = album.user_names()
        ready: list[AssetDetails] = []
        held: list[PendingAsset] = []
        vanished: list[str] = []
        for asset_id, entry in pending.items():
            asset = details.get(asset_id)
            if asset is None:
                vanished.append(asset_id)
            elif asset.ready or now - entry.first_seen >= self._processing_timeout:
                ready.append(_with_owner_name(asset, names))
            else:
                held.append(entry)
        return ready, tuple(held), vanished

    def _asset_events(
        self,
        album: AlbumSummary,
        added: list[AssetDetails],
        removed: list[str],
        removed_assets: list[AssetDetails],
    ) -> list[WatchEvent]:
        info = self._album_info(album)
        events: list[WatchEvent] = []
        if removed:
            events.append(
                WatchEvent(
                    WatchEventType.ASSETS_REMOVED,
                    info,
                    self._web_url,
                    removed_ids=tuple(removed),
                    removed_assets=tuple(removed_assets),
                )
            )
        if added:
            ordered = sorted(added, key=lambda a: (a.taken_at or "", a.file_name, a.id))
            events.append(
                WatchEvent(
                    WatchEventType.ASSETS_ADDED,
                    info,
                    self._web_url,
                    assets=tuple(ordered),
                )
            )
        return events

    def _album_info(self, album: AlbumSummary) -> AlbumInfo:
        return AlbumInfo(
            id=album.id,
            name=album.name,
            description=album.description,
            asset_count=album.asset_count,
            shared=album.shared,
            has_shared_link=album.has_shared_link,
            owner_name=album.owner.name if album.owner else None,
            url=f"{self._web_url}/albums/{album.id}",
        )

    def _deleted_event(self, old: AlbumState) -> WatchEvent:
        info = AlbumInfo(
            id=old.album_id,
            name=old.name,
            description="",
            asset_count=old.known_assets,
            shared=old.sharing.shared,
            has_shared_link=old.sharing.has_shared_link,
            owner_name=None,
            url=f"{self._web_url}/albums/{old.album_id}",
        )
        return WatchEvent(WatchEventType.ALBUM_DELETED, info, self._web_url)

    async def _with_shared_links(self, events: list[WatchEvent]) -> list[WatchEvent]:
        """Attach shared-link URLs; asks the server only when an event needs one."""
        if not any(_needs_link(event) for event in events):
            return events
        links = await self._client.async_get_shared_links()
        moment = datetime.now(UTC)
        return [
            _with_link(event, self._shared_link_url(links, event.album.id, moment))
            if _needs_link(event)
            else event
            for event in events
        ]

    def _shared_link_url(
        self, links: tuple[SharedLink, ...], album_id: str, moment: datetime
    ) -> str | None:
        link = pick_album_link(links, album_id, moment)
        if link is None:
            return None
        if link.slug:
            return f"{self._web_url}/s/{link.slug}"
        return f"{self._web_url}/share/{link.key}"


def _with_owner_name(asset: AssetDetails, names: Mapping[str, str]) -> AssetDetails:
    """Fill the owner's name from the album members when the search left it out."""
    if asset.owner_name or asset.owner_id not in names:
        return asset
    return replace(asset, owner_name=names[asset.owner_id])


def _needs_link(event: WatchEvent) -> bool:
    # A deleted album's links went with it.
    return (
        event.album.has_shared_link and event.type is not WatchEventType.ALBUM_DELETED
    )


def _with_link(event: WatchEvent, url: str | None) -> WatchEvent:
    if url is None:
        return event
    return replace(event, album=replace(event.album, shared_link_url=url))


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
