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

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
import time

from .client import (
    AlbumSummary,
    AssetDetails,
    ImmichClient,
    SharedLink,
    pick_album_link,
)
from .events import (
    AlbumInfo,
    PollResult,
    WatchEvent,
    WatchEventType,
)
from .state import (
    AlbumState,
    Fingerprint,
    PendingAsset,
    Sharing,
    WatcherState,
    concat_ids,
    diff_sorted,
    iter_ids,
    pack_id,
    pack_ids,
    unpack_id,
)

# How long an asset may stay "processing" before it is reported without media.
DEFAULT_PROCESSING_TIMEOUT = 10 * 60.0
# How often every album is listed regardless of its fingerprint.
DEFAULT_RECONCILE_INTERVAL = 6 * 3600.0
# Removed members described per album and poll: each costs one request (Immich has
# no bulk lookup outside an album), so a mass removal stays cheap; the rest are ids.
REMOVED_DETAILS_LIMIT = 10


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
