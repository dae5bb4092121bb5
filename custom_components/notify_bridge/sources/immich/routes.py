# ruff: noqa: RUF001 -- Russian is written in Cyrillic
"""Immich route subentries: what a route watches, filters and how it says it.

No Home Assistant imports: a route is parsed from subentry data into a frozen
`RouteConfig`, which selects (and filters) the watch events it wants and builds the
pipeline routes the router matches.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import time
from enum import StrEnum
from typing import Any

from ...const import (
    CONF_COALESCE_SECONDS,
    CONF_DESTINATIONS,
    CONF_EVENTS,
    CONF_TITLE_TEMPLATE,
)
from ...pipeline.i18n import template_by_language
from ...pipeline.models import Route, freeze, route_policy
from ...pipeline.schedule import Schedule, parse_clock
from .client import AssetDetails, AssetType, MediaVariant
from .events import WatchEvent, WatchEventType
from .memories import MemoryKind

CONF_ALBUMS = "albums"
CONF_FAVORITES_ONLY = "favorites_only"
CONF_ASSET_TYPES = "asset_types"
CONF_PEOPLE = "people"
CONF_MEDIA = "media"
CONF_MAX_MEDIA = "max_media"
# Memories a route sends every day at a local time: MemoryKind values, "HH:MM".
CONF_MEMORIES = "memories"
CONF_MEMORIES_AT = "memories_at"
DEFAULT_MEMORIES_AT = "09:00"
TEMPLATE_PREFIX = "template_"
# The key every route-specific event carries, and the router matches on.
ROUTE_KEY = "route"

DEFAULT_MAX_MEDIA = 10
# Immich routes coalesce by default: an upload of many photos arrives over several
# polls and should read as one message (issue 6). Stored 0 turns it off.
DEFAULT_COALESCE_SECONDS = 60
MAX_MEDIA_LIMIT = 50
FILTERABLE_TYPES = (AssetType.IMAGE, AssetType.VIDEO)


def asset_type_key(asset_type: AssetType) -> str:
    """The stored and translated key of an asset type filter.

    Translation keys must be lower case ([a-z0-9-_]), Immich's types are upper case;
    routes store the key and map it back with `parse_asset_types`.
    """
    return asset_type.value.lower()


def parse_asset_types(values: Any) -> frozenset[AssetType]:
    """Stored asset type keys (lower case; Immich's upper case as older routes stored them)."""
    known = {member.value for member in AssetType}
    return frozenset(
        AssetType(str(value).upper())
        for value in values or ()
        if str(value).upper() in known
    )


class MediaPolicy(StrEnum):
    """Which rendition of added assets a route sends along."""

    NONE = "none"
    THUMBNAIL = "thumbnail"
    PREVIEW = "preview"
    ORIGINAL = "original"


def template_key(event_type: WatchEventType | str) -> str:
    """Return the subentry field holding the template of an event type."""
    return f"{TEMPLATE_PREFIX}{event_type}"


_EN: Mapping[WatchEventType, str] = {
    # Counts come from `assets`, so a coalesced notification (assets of several
    # polls concatenated) still counts right.
    WatchEventType.ASSETS_ADDED: (
        "{% set n = assets | length %}"
        "{% set videos = assets | selectattr('type', 'eq', 'VIDEO') | list | length %}"
        "{{ n }} new {{ 'item' if n == 1 else 'items' }} in {{ album.name }}"
        "{% if assets and assets[0].owner %} from {{ assets[0].owner }}{% endif %}"
        "{% if videos and videos < n %}"
        " ({{ n - videos }} photos, {{ videos }} videos){% endif %}\n"
        "{{ album.link }}"
    ),
    WatchEventType.ASSETS_REMOVED: (
        "{% set n = assets | length %}"
        "{{ n }} {{ 'item' if n == 1 else 'items' }} removed from {{ album.name }}"
    ),
    WatchEventType.ALBUM_RENAMED: "Album {{ old_name }} is now called {{ new_name }}",
    WatchEventType.ALBUM_DELETED: "Album {{ album.name }} was deleted",
    WatchEventType.SHARING_CHANGED: (
        "Sharing of {{ album.name }} changed: "
        "{% if sharing.members %}shared with {{ sharing.members }}"
        " {{ 'person' if sharing.members == 1 else 'people' }}"
        "{% else %}not shared with anyone{% endif %}"
        "{% if sharing.has_shared_link %}, public link on{% endif %}"
    ),
}
# Russian: names in «», counts with their plural forms (the `plural` filter).
_RU: Mapping[WatchEventType, str] = {
    WatchEventType.ASSETS_ADDED: (
        "{% set n = assets | length %}"
        "{% set videos = assets | selectattr('type', 'eq', 'VIDEO') | list | length %}"
        "{{ n }} {{ n | plural('новый файл', 'новых файла', 'новых файлов') }} "
        "в «{{ album.name }}»"
        "{% if assets and assets[0].owner %} от {{ assets[0].owner }}{% endif %}"
        "{% if videos and videos < n %}"
        " ({{ n - videos }} фото, {{ videos }} видео){% endif %}\n"
        "{{ album.link }}"
    ),
    WatchEventType.ASSETS_REMOVED: (
        "{% set n = assets | length %}"
        "Из «{{ album.name }}» {{ n | plural('удалён', 'удалены', 'удалено') }} "
        "{{ n }} {{ n | plural('файл', 'файла', 'файлов') }}"
    ),
    WatchEventType.ALBUM_RENAMED: (
        "Альбом «{{ old_name }}» переименован в «{{ new_name }}»"
    ),
    WatchEventType.ALBUM_DELETED: "Альбом «{{ album.name }}» удалён",
    WatchEventType.SHARING_CHANGED: (
        "Изменён доступ к «{{ album.name }}»: "
        "{% if sharing.members %}общий с {{ sharing.members }} "
        "{{ sharing.members | plural('человеком', 'людьми', 'людьми') }}"
        "{% else %}ни с кем не общий{% endif %}"
        "{% if sharing.has_shared_link %}, публичная ссылка включена{% endif %}"
    ),
}
# Each event's default follows the reader's `language`.
DEFAULT_TEMPLATES: Mapping[WatchEventType, str] = {
    event: template_by_language({"en": _EN[event], "ru": _RU[event]}) for event in _EN
}


@dataclass(frozen=True, slots=True)
class RouteConfig:
    """One Immich route subentry, parsed."""

    route_id: str
    name: str
    source_entry_id: str
    albums: frozenset[str]
    events: frozenset[WatchEventType]
    destinations: tuple[str, ...]
    templates: Mapping[WatchEventType, str]
    title_template: str | None = None
    favorites_only: bool = False
    asset_types: frozenset[AssetType] = frozenset()
    # Case-folded person names; an asset passes when it shows any of them.
    people: frozenset[str] = frozenset()
    media: MediaPolicy = MediaPolicy.PREVIEW
    max_media: int = DEFAULT_MAX_MEDIA
    # Delivery policy of the route (coalescing window, digest); Route keywords.
    policy: Mapping[str, Any] = field(default_factory=lambda: freeze(None))
    # What memories it sends, and at which local time (None: none).
    memories: frozenset[MemoryKind] = frozenset()
    memories_at: time | None = None

    @classmethod
    def from_data(
        cls, route_id: str, name: str, source_entry_id: str, data: Mapping[str, Any]
    ) -> RouteConfig:
        """Parse subentry data; unknown values fall back to safe defaults."""
        events = frozenset(
            WatchEventType(value)
            for value in data.get(CONF_EVENTS, ())
            if value in WatchEventType.__members__.values()
        )
        return cls(
            route_id=route_id,
            name=name,
            source_entry_id=source_entry_id,
            albums=frozenset(data.get(CONF_ALBUMS, ())),
            events=events,
            destinations=tuple(data.get(CONF_DESTINATIONS, ())),
            templates=freeze(
                {
                    event: data.get(template_key(event)) or DEFAULT_TEMPLATES[event]
                    for event in WatchEventType
                }
            ),
            title_template=data.get(CONF_TITLE_TEMPLATE) or None,
            favorites_only=bool(data.get(CONF_FAVORITES_ONLY, False)),
            asset_types=parse_asset_types(data.get(CONF_ASSET_TYPES)),
            people=frozenset(
                str(name).strip().casefold()
                for name in data.get(CONF_PEOPLE, ())
                if str(name).strip()
            ),
            media=_media_policy(data.get(CONF_MEDIA)),
            max_media=_bounded_int(data.get(CONF_MAX_MEDIA), DEFAULT_MAX_MEDIA),
            policy=freeze(immich_route_policy(data)),
            memories=frozenset(
                MemoryKind(value)
                for value in data.get(CONF_MEMORIES, ())
                if value in MemoryKind.__members__.values()
            ),
            memories_at=_clock(data.get(CONF_MEMORIES_AT)),
        )

    def memory_schedule(self) -> Schedule | None:
        """Return when the route's memories go out (daily), or None."""
        if not self.memories or self.memories_at is None:
            return None
        return Schedule.daily(self.memories_at)

    def pipeline_routes(self) -> tuple[Route, ...]:
        """Return one pipeline route per event type; each matches this route only."""
        return tuple(
            Route(
                route_id=self.route_id,
                name=self.name,
                source_entry_id=self.source_entry_id,
                event_types=frozenset({event.value}),
                match=freeze({f"{ROUTE_KEY}.id": self.route_id}),
                destinations=self.destinations,
                template=self.templates[event],
                title_template=self.title_template,
                **self.policy,
            )
            for event in WatchEventType
            if event in self.events
        )

    def wants_asset(self, asset: AssetDetails) -> bool:
        """Return whether an added asset passes the route's filters."""
        if self.favorites_only and not asset.favorite:
            return False
        if self.asset_types and asset.type not in self.asset_types:
            return False
        return not self.people or any(
            person.casefold() in self.people for person in asset.people
        )

    def select(self, event: WatchEvent) -> WatchEvent | None:
        """Return the event as this route sees it (filtered), or None if unwanted."""
        if event.type not in self.events or event.album.id not in self.albums:
            return None
        if event.type is not WatchEventType.ASSETS_ADDED:
            return event
        assets = tuple(asset for asset in event.assets if self.wants_asset(asset))
        if not assets:
            return None
        return (
            event if len(assets) == len(event.assets) else replace(event, assets=assets)
        )

    def media_variant(self, asset: AssetDetails) -> MediaVariant | None:
        """Return the rendition to send for an asset, or None for no media."""
        if self.media is MediaPolicy.NONE or not asset.ready:
            # Still processing (reported after the timeout): nothing to fetch yet.
            return None
        if self.media is MediaPolicy.ORIGINAL:
            if asset.type is AssetType.VIDEO:
                return MediaVariant.PLAYBACK
            return MediaVariant.ORIGINAL
        if asset.type not in FILTERABLE_TYPES:
            return None
        return MediaVariant(self.media.value)


def immich_route_policy(data: Mapping[str, Any]) -> dict[str, Any]:
    """Return a route's policy; without a stored window, the Immich default."""
    policy = route_policy(data)
    if data.get(CONF_COALESCE_SECONDS) is None:
        policy["coalesce_seconds"] = float(DEFAULT_COALESCE_SECONDS)
    return policy


def watched_albums(routes: Iterable[RouteConfig]) -> frozenset[str]:
    """Return every album some route watches."""
    return frozenset(album for route in routes for album in route.albums)


def _clock(value: Any) -> time | None:
    try:
        return parse_clock(value)
    except ValueError:
        return None


def _media_policy(value: Any) -> MediaPolicy:
    try:
        return MediaPolicy(value)
    except ValueError:
        return MediaPolicy.PREVIEW


def _bounded_int(value: Any, default: int) -> int:
    try:
        number = int(value)
    except TypeError, ValueError:
        return default
    return max(0, min(MAX_MEDIA_LIMIT, number))
