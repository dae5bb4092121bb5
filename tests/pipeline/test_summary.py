# ruff: noqa: RUF001 -- Russian expectations are Cyrillic; the multiplication sign is meant
"""Summary lines of each source, built from the sources' own parsed events."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from custom_components.notify_bridge.pipeline.models import BridgeEvent, freeze
from custom_components.notify_bridge.pipeline.summary import (
    MAX_COUNTER_KEYS,
    MAX_SUMMARY_LINES,
    Period,
    summary_builder,
    summary_lines,
)
from custom_components.notify_bridge.sources.gitea import parse_gitea_payload
from custom_components.notify_bridge.sources.immich.client import (
    AssetDetails,
    AssetType,
)
from custom_components.notify_bridge.sources.immich.events import (
    AlbumInfo,
    WatchEvent,
    WatchEventType,
    to_bridge_event,
)
from custom_components.notify_bridge.sources.planka import parse_planka_payload
from tests.sources.webhook import payloads

SINCE = datetime(2026, 6, 1, tzinfo=UTC)


def fold(kind: str, events: list[BridgeEvent]) -> Period:
    period = Period(since=SINCE)
    builder = summary_builder(kind)
    for event in events:
        period.add(event, builder, max_media=10)
    return period


def album(name: str, album_id: str) -> AlbumInfo:
    return AlbumInfo(album_id, name, "", 100, False, False, "Alice", "https://i/a")


def asset(index: int, kind: AssetType = AssetType.IMAGE) -> AssetDetails:
    return AssetDetails(
        id=f"00000000-0000-4000-8000-{index:012d}",
        type=kind,
        file_name=f"IMG_{index}.jpg",
        taken_at=None,
        owner_id="o",
        owner_name="Alice",
        description=None,
        people=(),
        city=None,
        country=None,
        favorite=False,
        rating=None,
        updated_at="2026-06-01T00:00:00.000Z",
        ready=True,
    )


def immich_events() -> list[BridgeEvent]:
    family = album("Family", "a1")
    trips = album("Trips", "a2")
    added = [
        WatchEvent(
            WatchEventType.ASSETS_ADDED,
            family,
            "https://i",
            assets=tuple(asset(i) for i in range(start, start + 10)),
        )
        for start in (0, 10, 20)
    ]
    added.append(
        WatchEvent(
            WatchEventType.ASSETS_ADDED,
            family,
            "https://i",
            assets=tuple(asset(i) for i in range(30, 37)),
        )
    )
    removed = WatchEvent(
        WatchEventType.ASSETS_REMOVED,
        family,
        "https://i",
        removed_ids=tuple(asset(i).id for i in range(100, 103)),
    )
    video = WatchEvent(
        WatchEventType.ASSETS_ADDED,
        trips,
        "https://i",
        assets=(asset(200, AssetType.VIDEO), asset(201)),
    )
    renamed = WatchEvent(
        WatchEventType.ALBUM_RENAMED, album("Old", "a3"), "https://i", old_name="Older"
    )
    return [to_bridge_event(e, "src") for e in [*added, removed, video, renamed]]


def test_immich_lines_per_album() -> None:
    """ "37 new photos in Family, 3 removed", busiest album first, in both languages."""
    period = fold("immich", immich_events())
    assert summary_lines("immich", period, "en") == [
        "37 new photos in Family, 3 removed",
        "1 new photo, 1 new video in Trips",
        "Old: renamed",
    ]
    assert summary_lines("immich", period, "ru") == [
        "37 новых фотографий в альбоме «Family», удалено: 3",
        "1 новая фотография, 1 новое видео в альбоме «Trips»",
        "«Old»: переименован",
    ]
    # The newest added ids are kept for the glue to fetch media at send time.
    assert period.stats["asset_ids"][-1] == asset(201).id


def test_immich_only_removed_and_deleted() -> None:
    """An album that only lost assets, and one that was deleted."""
    gone = album("Gone", "a9")
    events = [
        WatchEvent(
            WatchEventType.ASSETS_REMOVED,
            gone,
            "https://i",
            removed_ids=(asset(1).id,),
        ),
        WatchEvent(WatchEventType.ALBUM_DELETED, gone, "https://i"),
    ]
    period = fold("immich", [to_bridge_event(e, "src") for e in events])
    assert summary_lines("immich", period, "en") == [
        "1 removed from Gone; album Gone was deleted"
    ]


def gitea(kind: str, payload: dict[str, Any]) -> BridgeEvent:
    return parse_gitea_payload(kind, payload).to_bridge_event("src")


def push(repository: str, commits: int, branch: str = "main") -> BridgeEvent:
    payload = payloads.push_payload()
    payload["repository"] = {**payload["repository"], "full_name": repository}
    payload["total_commits"] = commits
    payload["ref"] = f"refs/heads/{branch}"
    return gitea("push", payload)


def test_gitea_line() -> None:
    """ "12 commits to main in 3 repositories, 1 failed workflow"; successes are not
    failures; other events are counted by what happened."""
    events = [
        push("acme/tools", 5),
        push("acme/web", 4),
        push("acme/docs", 3),
        gitea("workflow_run", payloads.workflow_run_payload("failure")),
        gitea("workflow_run", payloads.workflow_run_payload("success")),
        gitea("issues", payloads.issue_payload("opened")),
        gitea("issues", payloads.issue_payload("opened")),
        gitea("release", payloads.release_payload()),
    ]
    period = fold("gitea", events)
    assert summary_lines("gitea", period, "en") == [
        "12 commits to main in 3 repositories, 1 failed workflow, 2 issues opened, "
        "1 release"
    ]
    assert summary_lines("gitea", period, "ru") == [
        "12 коммитов в main в 3 репозиториях, 1 неудачный запуск workflow, "
        "открыто 2 задачи, 1 релиз"
    ]


def test_gitea_one_repository_two_branches() -> None:
    """One repository is named; several branches are counted (each push lists
    three commits, so counts are at least 3)."""
    period = fold("gitea", [push("acme/tools", 1), push("acme/tools", 1, "dev")])
    assert summary_lines("gitea", period, "en") == [
        "6 commits to 2 branches in acme/tools"
    ]
    assert summary_lines("gitea", period, "ru") == ["6 коммитов в 2 ветки в acme/tools"]


def planka(payload: dict[str, Any]) -> BridgeEvent:
    event = parse_planka_payload(payload)
    assert event is not None
    return event.to_bridge_event("src")


def test_planka_line() -> None:
    """Cards created and moved, comments, on the board they happened on."""
    events = [
        planka(payloads.planka_card_created()),
        planka(payloads.planka_card_created()),
        planka(payloads.planka_card_moved()),
        planka(payloads.planka_comment_created()),
    ]
    period = fold("planka", events)
    assert summary_lines("planka", period, "en") == [
        "2 cards created, 1 card moved, 1 comment on Chores"
    ]
    assert summary_lines("planka", period, "ru") == [
        "создано 2 карточки, перемещена 1 карточка, 1 комментарий на доске «Chores»"
    ]
    other_board = copy.deepcopy(payloads.planka_card_created())
    other_board["data"]["included"]["boards"] = [{"id": "11", "name": "Garden"}]
    period = fold("planka", [*events, planka(other_board)])
    assert summary_lines("planka", period, "en")[0].endswith("on 2 boards")


def raw(kind: str, event_type: str, item: str) -> BridgeEvent:
    return BridgeEvent(
        source_entry_id="src",
        source_kind=kind,
        event_type=event_type,
        data=freeze({}),
        occurred_at=SINCE,
        item_key=item,
    )


def test_webhook_and_ha_events_lines() -> None:
    """Generic: total and busiest types; HA events also count entities."""
    hooks = [raw("webhook", "deploy", "deploy")] * 3 + [
        raw("webhook", "alert", "alert")
    ]
    assert summary_lines("webhook", fold("webhook", hooks), "en") == [
        "4 events: deploy × 3, alert × 1"
    ]
    states = [
        raw("ha_events", "door_opened", f"binary_sensor.d{i % 2}") for i in range(5)
    ]
    assert summary_lines("ha_events", fold("ha_events", states), "ru") == [
        "5 событий для 2 объектов: door_opened × 5"
    ]
    assert summary_lines("unknown_kind", fold("x", hooks), "en") == [
        "4 events: deploy × 3, alert × 1"
    ]


def test_many_types_and_albums_stay_bounded() -> None:
    """Hundreds of event types and albums: capped counters, exact total, a capped
    number of lines with "… and N more"."""
    hooks = [raw("webhook", f"type{i}", f"item{i}") for i in range(500)]
    period = fold("webhook", hooks)
    assert len(period.by_type) == MAX_COUNTER_KEYS + 1
    assert sum(period.by_type.values()) == 500
    [line] = summary_lines("webhook", period, "en")
    assert line.startswith("500 events: ") and line.endswith("… and 96 more")

    many = [
        to_bridge_event(
            WatchEvent(
                WatchEventType.ASSETS_ADDED,
                album(f"Album {i}", f"a{i}"),
                "https://i",
                assets=(asset(i),),
            ),
            "src",
        )
        for i in range(300)
    ]
    period = fold("immich", many)
    assert len(period.stats["albums"]) == MAX_COUNTER_KEYS + 1
    lines = summary_lines("immich", period, "en")
    assert len(lines) == MAX_SUMMARY_LINES
    assert lines[-1] == f"… and {MAX_COUNTER_KEYS + 1 - MAX_SUMMARY_LINES + 1} more"


def test_hostile_event_data_does_not_break_folding() -> None:
    """Odd shapes (assets not dicts, an album not a dict, a count as a string) are
    skipped, not crashed on; an album with nothing to say has no line."""
    event = BridgeEvent(
        source_entry_id="src",
        source_kind="immich",
        event_type="assets_added",
        data=freeze({"album": "not a dict", "assets": ["x", 3, {"type": "IMAGE"}]}),
        occurred_at=SINCE,
    )
    removed = BridgeEvent(
        source_entry_id="src",
        source_kind="immich",
        event_type="assets_removed",
        data=freeze({"album": {"id": "a", "name": "A"}, "removed_count": "9"}),
        occurred_at=SINCE,
    )
    period = fold("immich", [event, removed])
    assert period.total == 2
    assert summary_lines("immich", period, "en") == ["1 new photo in …"]
