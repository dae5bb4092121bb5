"""Immich memories: "on this day" in earlier years, and a random photo of an album.

No Home Assistant here: the glue calls these at a route's scheduled time with the
local date (`now.astimezone(tz).date()` in HA's time zone) and sends the result
like a live notification (the same `MediaFetcher`, the same destinations).

Rules:
- A photo is "from this day" when the wall-clock day it was taken (Immich
  `localDateTime`, the time where it was taken) has today's month and day and an
  earlier year. Photos from this year never count.
- February 29: in a leap year Feb 29 shows Feb 29 photos (and Feb 28 only Feb 28).
  In other years Feb 28 shows Feb 28 *and* Feb 29 photos, so a leap-day photo comes
  back every year instead of every four.
- Only photos that finished processing (have a thumbnail) are chosen; videos only
  when asked (`include_videos`). An asset in several albums counts once.
- Up to `limit` are sent, taken round-robin from the years, newest year first, so a
  busy year does not crowd the others out; within a year the order is random
  (seedable `random.Random` for tests).
- "A random photo from <album>": one ready photo chosen uniformly (reservoir
  sampling while the album is paged, so a huge album is never held whole).
"""

from __future__ import annotations

from calendar import isleap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from enum import StrEnum
import random
from typing import Any

from ...pipeline.i18n import DEFAULT_LANGUAGE, text
from ...pipeline.models import BridgeEvent, freeze
from .client import AssetDetails, AssetType, DatedAsset, ImmichClient
from .events import (
    SOURCE_KIND,
    _asset_context as asset_context,  # one asset shape in every context
)

DEFAULT_MEMORY_LIMIT = 10


class MemoryKind(StrEnum):
    """What a memory schedule sends; also the event type routes see."""

    ON_THIS_DAY = "memories_on_this_day"
    RANDOM_PHOTO = "memories_random_photo"


def local_today(tz: tzinfo, now: datetime | None = None) -> date:
    """Return the day it is in a time zone (HA's), the day memories are for."""
    return (now or datetime.now(UTC)).astimezone(tz).date()


def same_day(taken_on: date, today: date) -> bool:
    """Return whether a photo taken on `taken_on` belongs to `today`'s memories."""
    if taken_on.year >= today.year:
        return False
    if (taken_on.month, taken_on.day) == (today.month, today.day):
        return True
    # Leap-day photos come back on Feb 28 of years without a Feb 29.
    return (
        (today.month, today.day) == (2, 28)
        and not isleap(today.year)
        and (taken_on.month, taken_on.day) == (2, 29)
    )


def _wanted_type(asset: DatedAsset, include_videos: bool) -> bool:
    return asset.type is AssetType.IMAGE or (
        include_videos and asset.type is AssetType.VIDEO
    )


def pick_on_this_day(
    assets: Iterable[DatedAsset],
    today: date,
    *,
    limit: int = DEFAULT_MEMORY_LIMIT,
    rng: random.Random | None = None,
    include_videos: bool = False,
) -> tuple[list[DatedAsset], dict[int, int]]:
    """Return up to `limit` assets from this day (round-robin over years, newest
    first) and how many each year had."""
    rng = rng or random.Random()  # noqa: S311 -- picking photos, not secrets
    by_year: dict[int, dict[str, DatedAsset]] = {}
    for asset in assets:
        if (
            asset.ready
            and asset.taken_on is not None
            and _wanted_type(asset, include_videos)
            and same_day(asset.taken_on, today)
        ):
            by_year.setdefault(asset.taken_on.year, {})[asset.id] = asset
    # Deduplicated per year above, and across years below (an id has one date).
    queues: list[list[DatedAsset]] = []
    for year in sorted(by_year, reverse=True):
        members = sorted(by_year[year].values(), key=lambda a: a.id)
        rng.shuffle(members)
        queues.append(members)
    chosen: list[DatedAsset] = []
    while len(chosen) < limit and any(queues):
        for queue in queues:
            if queue and len(chosen) < limit:
                chosen.append(queue.pop(0))
    return chosen, {year: len(found) for year, found in by_year.items()}


class ReservoirPicker:
    """Picks one item uniformly from a stream it sees once (Algorithm R, k = 1).

    Used as a listing's `keep` callback: it keeps nothing in the listing.
    """

    def __init__(self, rng: random.Random, *, include_videos: bool = False) -> None:
        """Start empty; `rng` decides (seed it in tests)."""
        self._rng = rng
        self._videos = include_videos
        self._seen: set[str] = set()
        self.chosen: DatedAsset | None = None

    def __call__(self, asset: DatedAsset) -> bool:
        """See one asset; always answers False (nothing kept by the caller)."""
        if (
            not asset.ready
            or not _wanted_type(asset, self._videos)
            or asset.id in self._seen
        ):
            return False
        self._seen.add(asset.id)
        if self._rng.randrange(len(self._seen)) == 0:
            self.chosen = asset
        return False


@dataclass(frozen=True, slots=True)
class MemorySelection:
    """What one memory run chose."""

    kind: MemoryKind
    today: date
    assets: tuple[AssetDetails, ...]
    # Per year: how many photos of this day it had (on this day only).
    years: Mapping[int, int] = field(default_factory=dict)
    # The album of a random photo.
    album_name: str | None = None
    # Assets taken on each chosen asset's day (id → date), for "N years ago".
    taken_on: Mapping[str, date] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        """Return whether there is nothing to send."""
        return not self.assets


async def async_on_this_day(
    client: ImmichClient,
    album_ids: Sequence[str],
    today: date,
    *,
    limit: int = DEFAULT_MEMORY_LIMIT,
    rng: random.Random | None = None,
    include_videos: bool = False,
) -> MemorySelection:
    """List the albums (keeping only this day's members) and describe the chosen."""
    found: dict[str, DatedAsset] = {}
    for album_id in dict.fromkeys(album_ids):
        for asset in await client.async_list_album_dated(
            album_id,
            keep=lambda a: a.taken_on is not None and same_day(a.taken_on, today),
        ):
            found.setdefault(asset.id, asset)
    chosen, years = pick_on_this_day(
        found.values(), today, limit=limit, rng=rng, include_videos=include_videos
    )
    return await _describe(client, MemoryKind.ON_THIS_DAY, today, chosen, years=years)


async def async_random_photo(
    client: ImmichClient,
    album_id: str,
    album_name: str,
    today: date,
    *,
    rng: random.Random | None = None,
) -> MemorySelection:
    """Pick one ready photo of an album uniformly at random and describe it."""
    picker = ReservoirPicker(rng or random.Random())  # noqa: S311 -- not a secret
    await client.async_list_album_dated(album_id, keep=picker)
    chosen = [picker.chosen] if picker.chosen is not None else []
    return await _describe(
        client, MemoryKind.RANDOM_PHOTO, today, chosen, album_name=album_name
    )


async def _describe(
    client: ImmichClient,
    kind: MemoryKind,
    today: date,
    chosen: list[DatedAsset],
    **extra: Any,
) -> MemorySelection:
    # Details (people, place, owner) for the few chosen; gone ones drop out.
    details = await client.async_get_assets([asset.id for asset in chosen])
    return MemorySelection(
        kind=kind,
        today=today,
        assets=tuple(details[a.id] for a in chosen if a.id in details),
        taken_on={a.id: a.taken_on for a in chosen if a.taken_on is not None},
        **extra,
    )


def memory_message(selection: MemorySelection, language: str = DEFAULT_LANGUAGE) -> str:
    """Return the built-in text of a memory (plain: escape it for the destination)."""
    if selection.kind is MemoryKind.RANDOM_PHOTO:
        return text("memories.random", language, album=selection.album_name or "")
    if selection.empty:
        return text("memories.none", language)
    shown_years = sorted({d.year for d in selection.taken_on.values()}, reverse=True)
    years = ", ".join(
        text("memories.years_ago", language, count=selection.today.year - year)
        for year in shown_years
    )
    return text(
        "memories.on_this_day", language, years=years, count=len(selection.assets)
    )


def memory_context(
    selection: MemorySelection, web_url: str, language: str = DEFAULT_LANGUAGE
) -> dict[str, Any]:
    """Return what a memory template sees: `assets` as in live events (each with
    `years_ago`), and a `memory` block."""
    assets = []
    for asset in selection.assets:
        context = asset_context(asset, web_url)
        taken = selection.taken_on.get(asset.id)
        context["years_ago"] = selection.today.year - taken.year if taken else None
        assets.append(context)
    return {
        "language": language,
        "memory": {
            "kind": selection.kind.value,
            "date": selection.today.isoformat(),
            "years": {str(year): n for year, n in sorted(selection.years.items())},
            "album": selection.album_name,
            "text": memory_message(selection, language),
        },
        "assets": assets,
        "photo_count": sum(1 for a in selection.assets if a.type is AssetType.IMAGE),
        "video_count": sum(1 for a in selection.assets if a.type is AssetType.VIDEO),
    }


def memory_event(
    selection: MemorySelection,
    source_entry_id: str,
    route_id: str,
    web_url: str,
    occurred_at: datetime | None = None,
) -> BridgeEvent:
    """Return the pipeline event of a memory, matched to its route only (media are
    added by the glue with `MediaFetcher`, as for live events)."""
    data = memory_context(selection, web_url)
    data["route"] = {"id": route_id}
    return BridgeEvent(
        source_entry_id=source_entry_id,
        source_kind=SOURCE_KIND,
        event_type=selection.kind.value,
        data=freeze(data),
        occurred_at=occurred_at or datetime.now(UTC),
    )


async def async_digest_assets(
    client: ImmichClient, asset_ids: Sequence[str], limit: int
) -> tuple[AssetDetails, ...]:
    """Describe the newest `limit` assets a scheduled digest kept (its
    `period.stats["asset_ids"]`), for `MediaFetcher`; deleted ones drop out."""
    wanted = list(dict.fromkeys(asset_ids))[-limit:] if limit > 0 else []
    details = await client.async_get_assets(wanted)
    return tuple(details[asset_id] for asset_id in wanted if asset_id in details)
