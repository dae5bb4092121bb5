"""What a route saw since its last digest, and the source's own summary lines.

A `Period` folds events into counts that stay bounded however many arrive (10,000 a
day is the design load): counts per event type and per item, a source-specific
`stats` block, and the newest few media references. Every map has a cap; what would
exceed it is counted under `OVERFLOW_KEY`, so totals stay exact while memory and the
stored form stay small.

Summary lines come from a registry keyed by source kind (`register_summary`): each
builder folds an event into `stats` and writes its lines in a language. Builders for
immich, gitea, planka, webhook and ha_events are registered here; any other kind gets
the generic "N events: type x n" line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
import copy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from .i18n import text
from .models import BridgeEvent, MediaItem, MediaType

# Distinct keys kept per counter (event types, items, albums, repositories...).
MAX_COUNTER_KEYS = 100
# Where counts beyond the cap go.
OVERFLOW_KEY = "*"
# Media references a period keeps (the newest); a route's own cap may be lower.
MAX_PERIOD_MEDIA = 50
# Summary lines shown per digest; the rest become "… and N more".
MAX_SUMMARY_LINES = 8


def bump(counter: dict[str, int], key: str, amount: int = 1) -> None:
    """Add to a bounded counter: a new key beyond the cap counts under OVERFLOW_KEY."""
    if key not in counter and len(counter) >= MAX_COUNTER_KEYS:
        key = OVERFLOW_KEY
    counter[key] = counter.get(key, 0) + amount


def media_ref(item: MediaItem) -> dict[str, Any] | None:
    """Return the stored form of a media item (never its bytes), or None."""
    if not (item.url or item.identity):
        return None
    return {
        "type": item.type.value,
        "url": item.url,
        "identity": item.identity,
        "filename": item.filename,
    }


def media_from_ref(ref: Mapping[str, Any]) -> MediaItem:
    """Rebuild a byte-less media item; a target re-sends it by URL or upload cache."""
    return MediaItem(
        type=MediaType(ref["type"]),
        url=ref.get("url"),
        identity=ref.get("identity"),
        filename=ref.get("filename"),
    )


@dataclass(slots=True)
class Period:
    """Everything one route saw since `since`, folded."""

    since: datetime
    total: int = 0
    by_type: dict[str, int] = field(default_factory=dict)
    by_item: dict[str, int] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    media: list[dict[str, Any]] = field(default_factory=list)

    def add(self, event: BridgeEvent, builder: SummaryBuilder, max_media: int) -> None:
        """Fold one event in: O(1) work, bounded growth."""
        self.total += 1
        bump(self.by_type, event.event_type)
        if event.item_key is not None:
            bump(self.by_item, event.item_key)
        builder.fold(self.stats, event)
        limit = min(max_media, MAX_PERIOD_MEDIA)
        if limit <= 0:
            return
        for item in event.media:
            ref = media_ref(item)
            if ref is not None:
                self.media.append(ref)
        if len(self.media) > limit:
            # The newest are kept: they are what the reader has not seen yet.
            del self.media[: len(self.media) - limit]

    def to_dict(self) -> dict[str, Any]:
        """Return the stored form (JSON-friendly), a copy: a store may serialize it
        later, in a worker thread, while new events change the period."""
        return {
            "since": self.since.isoformat(),
            "total": self.total,
            "by_type": dict(self.by_type),
            "by_item": dict(self.by_item),
            "stats": copy.deepcopy(self.stats),
            "media": [dict(ref) for ref in self.media],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Period:
        """Rebuild from the stored form; raises (KeyError, TypeError, ValueError)."""
        return cls(
            since=datetime.fromisoformat(data["since"]),
            total=int(data.get("total", 0)),
            by_type={str(k): int(v) for k, v in dict(data.get("by_type", {})).items()},
            by_item={str(k): int(v) for k, v in dict(data.get("by_item", {})).items()},
            stats=dict(data.get("stats", {})),
            media=[dict(ref) for ref in data.get("media", ()) if "type" in ref],
        )


class SummaryBuilder(Protocol):
    """Folds a source's events into `stats` and says what they add up to."""

    def fold(self, stats: dict[str, Any], event: BridgeEvent) -> None:
        """Fold one event into the (JSON-friendly, bounded) stats."""

    def lines(self, period: Period, language: str) -> list[str]:
        """Return the summary lines of a period in a language."""


_REGISTRY: dict[str, SummaryBuilder] = {}


def register_summary(source_kind: str, builder: SummaryBuilder) -> None:
    """Use `builder` for the digests of routes of a source kind."""
    _REGISTRY[source_kind] = builder


def summary_builder(source_kind: str) -> SummaryBuilder:
    """Return the builder of a source kind (the generic one when none is known)."""
    return _REGISTRY.get(source_kind, GENERIC)


def summary_lines(source_kind: str, period: Period, language: str) -> list[str]:
    """Return a period's lines, at most MAX_SUMMARY_LINES plus "… and N more"."""
    lines = summary_builder(source_kind).lines(period, language)
    if len(lines) <= MAX_SUMMARY_LINES:
        return lines
    rest = len(lines) - MAX_SUMMARY_LINES + 1
    return [*lines[: MAX_SUMMARY_LINES - 1], text("more", language, count=rest)]


def _get(data: Mapping[str, Any], *path: str) -> Any:
    value: Any = data
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _counter(stats: dict[str, Any], name: str) -> dict[str, int]:
    counter: dict[str, int] = stats.setdefault(name, {})
    return counter


# --- generic (webhook, ha_events, anything) -----------------------------------------


class GenericSummary:
    """12 events: deploy x 9, alert x 3 (and "for N entities" when items differ)."""

    def __init__(self, *, items_are_entities: bool = False) -> None:
        """`items_are_entities`: item keys name entities (HA events)."""
        self._entities = items_are_entities

    def fold(self, stats: dict[str, Any], event: BridgeEvent) -> None:
        """Nothing beyond the period's own counts."""

    def lines(self, period: Period, language: str) -> list[str]:
        """Return one line: the total and the busiest event types."""
        if not period.total:
            return []
        line = text("generic.events", language, count=period.total)
        if self._entities and period.by_item:
            line += " " + text(
                "generic.for_entities", language, count=len(period.by_item)
            )
        busiest = sorted(period.by_type.items(), key=lambda kv: (-kv[1], kv[0]))
        parts = [
            text("generic.type_count", language, type=name, count=count)
            for name, count in busiest[:5]
        ]
        if len(busiest) > 5:
            parts.append(text("more", language, count=len(busiest) - 5))
        return [f"{line}: {', '.join(parts)}"] if parts else [line]


GENERIC = GenericSummary()


# --- Immich ---------------------------------------------------------------------------


class ImmichSummary:
    """Per album: "37 new photos in Family, 3 removed"."""

    ASSET_IDS = "asset_ids"

    def fold(self, stats: dict[str, Any], event: BridgeEvent) -> None:
        """Count added photos/videos, removals and album changes per album."""
        album_id = str(_get(event.data, "album", "id") or OVERFLOW_KEY)
        albums: dict[str, dict[str, Any]] = stats.setdefault("albums", {})
        if album_id not in albums and len(albums) >= MAX_COUNTER_KEYS:
            album_id = OVERFLOW_KEY
        album = albums.setdefault(album_id, {"name": "…", "counts": {}})
        if album_id != OVERFLOW_KEY:
            album["name"] = str(_get(event.data, "album", "name") or album["name"])
        counts: dict[str, int] = album["counts"]
        raw = event.data.get("assets")
        items = raw if isinstance(raw, list | tuple) else ()
        assets = [a for a in items if isinstance(a, Mapping)]
        if event.event_type == "assets_added":
            for asset in assets:
                kind = {"IMAGE": "photos", "VIDEO": "videos"}.get(
                    _get(asset, "type"), "other"
                )
                counts[kind] = counts.get(kind, 0) + 1
            self._keep_ids(stats, assets)
        elif event.event_type == "assets_removed":
            counts["removed"] = counts.get("removed", 0) + (
                _int(event.data.get("removed_count")) or len(assets)
            )
        else:
            counts[event.event_type] = counts.get(event.event_type, 0) + 1

    def _keep_ids(self, stats: dict[str, Any], assets: list[Mapping[str, Any]]) -> None:
        """Keep the newest added asset ids: the glue fetches their media at send time."""
        kept: list[str] = stats.setdefault(self.ASSET_IDS, [])
        kept.extend(str(a["id"]) for a in assets if a.get("id"))
        if len(kept) > MAX_PERIOD_MEDIA:
            del kept[: len(kept) - MAX_PERIOD_MEDIA]

    def lines(self, period: Period, language: str) -> list[str]:
        """Return one line per album, busiest first."""
        albums = period.stats.get("albums", {})
        ordered = sorted(
            albums.values(), key=lambda a: (-sum(a["counts"].values()), a["name"])
        )
        lines = (self._album_line(a["name"], a["counts"], language) for a in ordered)
        return [line for line in lines if line]

    def _album_line(self, name: str, counts: Mapping[str, int], language: str) -> str:
        added = [
            text(f"immich.added_{kind}", language, count=counts[kind])
            for kind in ("photos", "videos", "other")
            if counts.get(kind)
        ]
        changes = [
            text(key, language)
            for event, key in (
                ("album_renamed", "immich.renamed"),
                ("sharing_changed", "immich.sharing_changed"),
            )
            if counts.get(event)
        ]
        removed = counts.get("removed", 0)
        if added:
            head = text("immich.in_album", language, what=", ".join(added), album=name)
            tail = [text("immich.removed", language, count=removed)] if removed else []
            line = ", ".join([head, *tail, *changes])
        elif removed:
            head = text("immich.removed_from", language, count=removed, album=name)
            line = ", ".join([head, *changes])
        elif changes:
            line = text(
                "immich.album_prefix", language, album=name, what=", ".join(changes)
            )
        else:
            line = ""
        if counts.get("album_deleted"):
            deleted = text("immich.deleted", language, album=name)
            line = f"{line}; {deleted}" if line else deleted
        return line[:1].upper() + line[1:]


# --- Gitea ----------------------------------------------------------------------------

_GITEA_COUNTED: Mapping[tuple[str, str | None], str] = {
    ("issues", "opened"): "gitea.issues_opened",
    ("pull_request", "opened"): "gitea.pulls_opened",
    ("pull_request", "merged"): "gitea.pulls_merged",
    ("release", "published"): "gitea.releases",
    ("issue_comment", "created"): "gitea.comments",
}


class GiteaSummary:
    """ "12 commits to main in 3 repositories, 1 failed workflow"."""

    def fold(self, stats: dict[str, Any], event: BridgeEvent) -> None:
        """Count commits, branches, repositories, failed workflows and the rest."""
        data = event.data
        repository = str(data.get("repository") or "")
        if event.event_type == "push":
            stats["commits"] = stats.get("commits", 0) + _int(data.get("commit_count"))
            bump(
                _counter(stats, "branches"), str(data.get("branch") or data.get("ref"))
            )
            bump(_counter(stats, "push_repositories"), repository)
        elif event.event_type in ("workflow_run", "workflow_job"):
            block = data.get("workflow") or data.get("job") or {}
            if (
                data.get("action") == "completed"
                and _get(block, "conclusion") == "failure"
            ):
                stats["failed"] = stats.get("failed", 0) + 1
        else:
            key = _GITEA_COUNTED.get(
                (event.event_type, data.get("action")), "gitea.other"
            )
            bump(_counter(stats, "counted"), key)

    def lines(self, period: Period, language: str) -> list[str]:
        """Return one line: the pushes first, then everything else counted."""
        stats = period.stats
        parts: list[str] = []
        if stats.get("commits"):
            parts.append(self._push_phrase(stats, language))
        if stats.get("failed"):
            parts.append(
                text("gitea.failed_workflows", language, count=stats["failed"])
            )
        counted: Mapping[str, int] = stats.get("counted", {})
        order = [*_GITEA_COUNTED.values(), "gitea.other"]
        parts.extend(
            text(key, language, count=counted[key]) for key in order if counted.get(key)
        )
        return [", ".join(parts)] if parts else []

    def _push_phrase(self, stats: Mapping[str, Any], language: str) -> str:
        branches: Mapping[str, int] = stats.get("branches", {})
        repositories: Mapping[str, int] = stats.get("push_repositories", {})
        words = [text("gitea.commits", language, count=stats["commits"])]
        if len(branches) == 1 and OVERFLOW_KEY not in branches:
            words.append(text("gitea.to_branch", language, branch=next(iter(branches))))
        elif branches:
            words.append(text("gitea.to_branches", language, count=_distinct(branches)))
        if len(repositories) == 1 and OVERFLOW_KEY not in repositories:
            words.append(
                text(
                    "gitea.in_repository", language, repository=next(iter(repositories))
                )
            )
        elif repositories:
            words.append(
                text("gitea.in_repositories", language, count=_distinct(repositories))
            )
        return " ".join(words)


def _distinct(counter: Mapping[str, int]) -> int:
    """Return how many distinct keys a counter saw; past the cap the overflow bucket
    counts as one more, so the figure is a lower bound."""
    return len(counter)


# --- Planka ---------------------------------------------------------------------------

_PLANKA_KEYS: Mapping[str, str] = {
    "card_created": "planka.cards_created",
    "card_moved": "planka.cards_moved",
    "card_updated": "planka.cards_updated",
    "comment_created": "planka.comments",
    "task_completed": "planka.tasks_completed",
    "card_member_added": "planka.members_added",
}


class PlankaSummary:
    """ "5 cards created, 3 cards moved, 2 comments on Roadmap"."""

    def fold(self, stats: dict[str, Any], event: BridgeEvent) -> None:
        """Count per kind of change, and the boards they happened on."""
        bump(
            _counter(stats, "counted"),
            _PLANKA_KEYS.get(event.event_type, "planka.other"),
        )
        board = _get(event.data, "board", "name")
        if board:
            bump(_counter(stats, "boards"), str(board))

    def lines(self, period: Period, language: str) -> list[str]:
        """Return one line: the changes, then where."""
        counted: Mapping[str, int] = period.stats.get("counted", {})
        order = [*_PLANKA_KEYS.values(), "planka.other"]
        parts = [text(k, language, count=counted[k]) for k in order if counted.get(k)]
        if not parts:
            return []
        boards: Mapping[str, int] = period.stats.get("boards", {})
        line = ", ".join(parts)
        if len(boards) == 1 and OVERFLOW_KEY not in boards:
            line += " " + text("planka.on_board", language, board=next(iter(boards)))
        elif boards:
            line += " " + text("planka.on_boards", language, count=_distinct(boards))
        return [line]


BUILTIN_SUMMARIES: Mapping[str, Callable[[], SummaryBuilder]] = {
    "immich": ImmichSummary,
    "gitea": GiteaSummary,
    "planka": PlankaSummary,
    "webhook": GenericSummary,
    "ha_events": lambda: GenericSummary(items_are_entities=True),
}
for _kind, _factory in BUILTIN_SUMMARIES.items():
    register_summary(_kind, _factory())
