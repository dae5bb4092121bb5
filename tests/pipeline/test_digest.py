# ruff: noqa: RUF001 -- Russian expectations are Cyrillic; the multiplication sign is meant
"""Scheduled digests: collected, persisted, due on time, sent once, crash-safe."""

from __future__ import annotations

import asyncio
import copy
from datetime import UTC, datetime, time, timedelta
import json
from typing import Any
from zoneinfo import ZoneInfo

from freezegun.api import FrozenDateTimeFactory
import pytest

from custom_components.notify_bridge.pipeline.digest import (
    DigestAccumulator,
    DigestConfig,
    DigestMode,
    async_run_due,
    async_send_digest,
)
from custom_components.notify_bridge.pipeline.engine import Pipeline
from custom_components.notify_bridge.pipeline.models import (
    BridgeEvent,
    MediaItem,
    MediaType,
    OutputFormat,
    Route,
    freeze,
)
from custom_components.notify_bridge.pipeline.schedule import Schedule

from .helpers import MemoryDestination

BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2026, 6, 1, 6, 0, tzinfo=UTC)  # 08:00 in Berlin


class Crash(BaseException):
    """The process dying: nothing catches it."""


class MemoryStore:
    """What HA's Store would keep: JSON only; a save can be made to crash."""

    def __init__(self) -> None:
        self.data: dict[str, Any] | None = None
        self.saves = 0
        self.crash_at: int | None = None

    async def load(self) -> dict[str, Any] | None:
        return copy.deepcopy(self.data)

    async def save(self, data: dict[str, Any]) -> None:
        self.saves += 1
        if self.crash_at == self.saves:
            raise Crash
        # A JSON round trip: only what Store could write survives.
        self.data = json.loads(json.dumps(data))


def route(mode_dests: tuple[str, ...] = ("en", "ru")) -> Route:
    return Route(
        route_id="r1",
        name="Doors",
        source_entry_id="src",
        event_types=frozenset(),
        match=freeze({}),
        destinations=mode_dests,
        template="{{ door }} {{ event.type }}",
    )


def config(**overrides: Any) -> DigestConfig:
    values: dict[str, Any] = {
        "route_id": "r1",
        "route_name": "Doors",
        "source_kind": "webhook",
        "schedule": Schedule.daily(time(20, 0)),
    }
    values.update(overrides)
    return DigestConfig(**values)


def door_event(door: str = "Front", event_type: str = "opened", **kw: Any):
    return BridgeEvent(
        source_entry_id="src",
        source_kind="webhook",
        event_type=event_type,
        data=freeze({"door": door}),
        occurred_at=datetime.now(UTC),
        item_key=door,
        **kw,
    )


class GatedDestination(MemoryDestination):
    """Holds each delivery until the test opens the gate (no real sleeps: the
    freezer stops the loop's clock)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gate = asyncio.Event()
        self.waiting = asyncio.Event()

    async def async_deliver(self, notification):
        self.waiting.set()
        await self.gate.wait()
        return await super().async_deliver(notification)


class Harness:
    """A pipeline with two readers (English, Russian) and a digest accumulator."""

    def __init__(self, store: MemoryStore, **config_overrides: Any) -> None:
        self.store = store
        self.dests = {
            "en": MemoryDestination("en", language="en"),
            "ru": MemoryDestination("ru", language="ru"),
        }
        self.resolve_fails: set[str] = set()
        self.pipeline = Pipeline(self._resolve)
        self.pipeline.router.set_routes("src", [route()])
        self.digests = DigestAccumulator(load=store.load, save=store.save)
        self.pipeline.digests = self.digests
        self.config = config(**config_overrides)

    def _resolve(self, dest_id: str) -> MemoryDestination | None:
        if dest_id in self.resolve_fails:
            raise Crash
        return self.dests.get(dest_id)

    async def start(self) -> Harness:
        await self.digests.async_load()
        self.digests.configure(self.config)
        return self

    async def run_due(self) -> int:
        return await async_run_due(
            self.digests,
            self.pipeline,
            datetime.now(UTC),
            BERLIN,
            lambda _: ("en", "ru"),
        )

    def messages(self, dest: str) -> list[str]:
        return [n.message for n in self.dests[dest].received]


async def test_events_wait_for_the_daily_digest(freezer: FrozenDateTimeFactory):
    """INSTEAD mode: nothing immediate; at 20:00 Berlin one message per reader, in
    their language, with the source's summary line; not again at 20:01."""
    freezer.move_to(START)
    harness = await Harness(MemoryStore()).start()
    for door, kind in [("Front", "opened"), ("Front", "closed"), ("Back", "opened")]:
        assert await harness.pipeline.async_handle_event(door_event(door, kind)) == []
    assert harness.messages("en") == []
    assert harness.digests.next_due("r1", BERLIN) == datetime(
        2026, 6, 1, 18, 0, tzinfo=UTC
    )

    freezer.move_to(datetime(2026, 6, 1, 17, 59, tzinfo=UTC))
    assert await harness.run_due() == 0
    freezer.move_to(datetime(2026, 6, 1, 18, 0, tzinfo=UTC))
    assert await harness.run_due() == 1
    assert harness.messages("en") == [
        "Doors: 3 events since June 1, 2026, 06:00\n3 events: opened × 2, closed × 1"
    ]
    assert harness.messages("ru") == [
        "«Doors»: 3 события с 1 июня 2026 г., 06:00\n3 события: opened × 2, closed × 1"
    ]
    freezer.tick(60)
    assert await harness.run_due() == 0
    assert len(harness.messages("en")) == 1


async def test_nothing_sent_when_nothing_happened(freezer: FrozenDateTimeFactory):
    """No events: nothing is sent, but the day counts as done (not due again)."""
    freezer.move_to(START)
    harness = await Harness(MemoryStore()).start()
    freezer.move_to(datetime(2026, 6, 1, 18, 0, tzinfo=UTC))
    assert await harness.run_due() == 0
    assert harness.messages("en") == harness.messages("ru") == []
    assert harness.digests.next_due("r1", BERLIN) == datetime(
        2026, 6, 2, 18, 0, tzinfo=UTC
    )


async def test_send_empty_option(freezer: FrozenDateTimeFactory):
    """With `send_empty`, a quiet day still says so."""
    freezer.move_to(START)
    harness = await Harness(MemoryStore(), send_empty=True).start()
    freezer.move_to(datetime(2026, 6, 1, 18, 0, tzinfo=UTC))
    assert await harness.run_due() == 1
    assert harness.messages("en") == ["Doors: nothing new since June 1, 2026, 06:00."]
    assert harness.messages("ru") == ["«Doors»: ничего нового с 1 июня 2026 г., 06:00."]


async def test_also_mode_notifies_now_and_in_the_digest(freezer: FrozenDateTimeFactory):
    """ALSO mode: the event goes out at once and is counted for the digest."""
    freezer.move_to(START)
    harness = await Harness(MemoryStore(), mode=DigestMode.ALSO).start()
    [summary] = await harness.pipeline.async_handle_event(door_event())
    assert summary.delivered == 2
    assert harness.messages("en") == ["Front opened"]
    assert harness.digests.pending_events("r1") == 1


async def test_restart_before_the_digest_loses_nothing(freezer: FrozenDateTimeFactory):
    """Events before a restart are in the digest after it; a due time missed while
    down runs once at startup, then not again."""
    freezer.move_to(START)
    store = MemoryStore()
    first = await Harness(store).start()
    await first.pipeline.async_handle_event(door_event("Front"))
    await first.pipeline.async_handle_event(door_event("Back"))

    # Down from 19:00 to 21:00 Berlin time: 20:00 was missed.
    freezer.move_to(datetime(2026, 6, 1, 19, 0, tzinfo=UTC))
    second = await Harness(store).start()
    assert second.digests.pending_events("r1") == 2
    assert await second.run_due() == 1
    assert second.messages("en")[0].startswith("Doors: 2 events since")
    assert await second.run_due() == 0

    third = await Harness(store).start()
    assert await third.run_due() == 0
    assert third.messages("en") == []


async def test_crash_before_the_digest_is_taken(freezer: FrozenDateTimeFactory):
    """The take's save never happened: after restart the same events go out once."""
    freezer.move_to(START)
    store = MemoryStore()
    first = await Harness(store).start()
    await first.pipeline.async_handle_event(door_event())
    freezer.move_to(datetime(2026, 6, 1, 18, 0, tzinfo=UTC))
    store.crash_at = store.saves + 1
    with pytest.raises(Crash):
        await first.run_due()
    assert first.messages("en") == []

    store.crash_at = None
    second = await Harness(store).start()
    assert await second.run_due() == 1
    assert len(second.messages("en")) == len(second.messages("ru")) == 1


async def test_crash_between_destinations(freezer: FrozenDateTimeFactory):
    """Delivered to the English reader, then the process died before the Russian
    one: after restart only the Russian reader gets it, once."""
    freezer.move_to(START)
    store = MemoryStore()
    first = await Harness(store).start()
    await first.pipeline.async_handle_event(door_event())
    freezer.move_to(datetime(2026, 6, 1, 18, 0, tzinfo=UTC))
    first.resolve_fails = {"ru"}
    with pytest.raises(Crash):
        await first.run_due()
    assert len(first.messages("en")) == 1

    second = await Harness(store).start()
    assert [d.route_id for d in second.digests.in_flight()] == ["r1"]
    assert await second.run_due() == 1
    assert second.messages("en") == []
    assert len(second.messages("ru")) == 1
    assert second.digests.in_flight() == []
    # Not due again, and nothing is left to resend.
    third = await Harness(store).start()
    assert await third.run_due() == 0


async def test_crash_before_mark_sent(freezer: FrozenDateTimeFactory):
    """Both delivered and recorded; the final save died: nobody gets it again."""
    freezer.move_to(START)
    store = MemoryStore()
    first = await Harness(store).start()
    await first.pipeline.async_handle_event(door_event())
    freezer.move_to(datetime(2026, 6, 1, 18, 0, tzinfo=UTC))
    # Saves: take, delivered en, delivered ru, then the mark-sent save dies.
    store.crash_at = store.saves + 4
    with pytest.raises(Crash):
        await first.run_due()
    store.crash_at = None
    second = await Harness(store).start()
    await second.run_due()
    assert second.messages("en") == second.messages("ru") == []
    assert second.digests.in_flight() == []


async def test_events_during_a_send_go_to_the_next_digest(
    freezer: FrozenDateTimeFactory,
):
    """An event arriving while the digest is on its way is in the next one only."""
    freezer.move_to(START)
    harness = await Harness(MemoryStore()).start()
    await harness.pipeline.async_handle_event(door_event("Front"))
    gated = harness.dests["en"] = GatedDestination("en", language="en")
    freezer.move_to(datetime(2026, 6, 1, 18, 0, tzinfo=UTC))
    sending = asyncio.create_task(harness.run_due())
    await gated.waiting.wait()
    await harness.pipeline.async_handle_event(door_event("Garage"))
    gated.gate.set()
    assert await sending == 1
    assert "1 event:" in harness.messages("en")[0]
    assert harness.digests.pending_events("r1") == 1


async def test_two_triggers_send_one_digest(freezer: FrozenDateTimeFactory):
    """The timer and the button at the same moment: one message per reader."""
    freezer.move_to(START)
    harness = await Harness(MemoryStore()).start()
    await harness.pipeline.async_handle_event(door_event())
    gated = harness.dests["en"] = GatedDestination("en", language="en")
    runs = [
        asyncio.create_task(
            async_send_digest(harness.digests, harness.pipeline, "r1", ("en", "ru"))
        )
        for _ in range(2)
    ]
    await gated.waiting.wait()
    for _ in range(5):
        await asyncio.sleep(0)
    gated.gate.set()
    runs = await asyncio.gather(*runs)
    assert len(harness.messages("en")) == len(harness.messages("ru")) == 1
    assert sum(len(summaries) for summaries in runs) == 2


async def test_spring_forward_day_runs_once_after_the_gap(
    freezer: FrozenDateTimeFactory,
):
    """A 02:30 digest on the day 02:30 does not exist goes out at 03:00, once,
    including across a restart right after it."""
    freezer.move_to(datetime(2026, 3, 28, 12, 0, tzinfo=UTC))
    store = MemoryStore()
    harness = await Harness(store, schedule=Schedule.daily(time(2, 30))).start()
    await harness.pipeline.async_handle_event(door_event())
    freezer.move_to(datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC))  # 01:59:59 CET
    assert await harness.run_due() == 0
    freezer.move_to(datetime(2026, 3, 29, 1, 0, tzinfo=UTC))  # 03:00 CEST
    assert await harness.run_due() == 1
    restarted = await Harness(store, schedule=Schedule.daily(time(2, 30))).start()
    freezer.tick(timedelta(minutes=45))
    await restarted.pipeline.async_handle_event(door_event())
    assert await restarted.run_due() == 0
    assert restarted.digests.next_due("r1", BERLIN) == datetime(
        2026, 3, 30, 0, 30, tzinfo=UTC
    )


async def test_fall_back_day_runs_once(freezer: FrozenDateTimeFactory):
    """01:30 New York on the fall-back day: at the first 01:30, not at the second."""
    new_york = ZoneInfo("America/New_York")
    freezer.move_to(datetime(2026, 10, 31, 12, 0, tzinfo=UTC))
    harness = await Harness(MemoryStore(), schedule=Schedule.daily(time(1, 30))).start()

    async def run() -> int:
        return await async_run_due(
            harness.digests,
            harness.pipeline,
            datetime.now(UTC),
            new_york,
            lambda _: ("en",),
        )

    await harness.pipeline.async_handle_event(door_event())
    freezer.move_to(datetime(2026, 11, 1, 5, 30, tzinfo=UTC))  # 01:30 EDT
    assert await run() == 1
    await harness.pipeline.async_handle_event(door_event())
    freezer.move_to(datetime(2026, 11, 1, 6, 30, tzinfo=UTC))  # 01:30 EST
    assert await run() == 0
    assert len(harness.messages("en")) == 1


async def test_media_references_are_kept_without_bytes(freezer: FrozenDateTimeFactory):
    """The newest N media go with the digest, as URL/identity only (no bytes kept
    for a day, none in the store)."""
    freezer.move_to(START)
    store = MemoryStore()
    harness = await Harness(store, max_media=2).start()
    for index in range(4):
        item = MediaItem(
            MediaType.PHOTO,
            url=f"https://x/{index}.jpg",
            data=b"\xff" * 1000,
            identity=f"id{index}",
        )
        await harness.pipeline.async_handle_event(door_event(media=(item,)))
    assert "\\u00ff" not in json.dumps(store.data) and "ÿ" not in json.dumps(store.data)
    await async_send_digest(harness.digests, harness.pipeline, "r1", ("en",))
    [message] = harness.dests["en"].received
    assert [m.identity for m in message.media] == ["id2", "id3"]
    assert all(m.data is None for m in message.media)


async def test_html_reader_gets_escaped_names(freezer: FrozenDateTimeFactory):
    """Route and item names are user text: escaped for an HTML destination."""
    freezer.move_to(START)
    harness = await Harness(MemoryStore(), route_name="<b>Doors</b>").start()
    harness.dests["en"].output_format = OutputFormat.HTML
    await harness.pipeline.async_handle_event(door_event(event_type="<i>x</i>"))
    await async_send_digest(harness.digests, harness.pipeline, "r1", ("en",))
    [message] = harness.messages("en")
    assert "<b>" not in message and "&lt;b&gt;Doors&lt;/b&gt;" in message
    assert "&lt;i&gt;x&lt;/i&gt; × 1" in message


async def test_a_day_of_10000_events_stays_small(freezer: FrozenDateTimeFactory):
    """10,000 events about 10,000 different items: the stored state stays a few KB
    and the totals stay exact."""
    freezer.move_to(START)
    store = MemoryStore()
    digests = DigestAccumulator(save=store.save)
    digests.configure(config())
    for index in range(10_000):
        await digests.async_add(
            "r1", door_event(f"door-{index}", event_type=f"t{index % 300}")
        )
    size = len(json.dumps(store.data))
    assert size < 20_000, size
    digest = await digests.async_take("r1")
    assert digest is not None
    assert digest.period.total == 10_000
    assert sum(digest.period.by_item.values()) == 10_000
    assert sum(digest.period.by_type.values()) == 10_000
    assert len(digest.period.by_item) <= 101


@pytest.mark.parametrize(
    "stored",
    [
        None,
        {},
        {"routes": []},
        {"routes": {"r1": "garbage"}},
        {"routes": {"r1": {"period": {"since": "not a date"}, "last_run": "x"}}},
        {"routes": {"r1": {"period": {}, "last_run": START.isoformat()}}},
        {
            "routes": {
                "r1": {
                    "period": {"since": START.isoformat(), "total": "many"},
                    "last_run": START.isoformat(),
                }
            }
        },
    ],
)
async def test_malformed_store_is_dropped_not_fatal(
    stored: Any, freezer: FrozenDateTimeFactory
) -> None:
    """A hand-edited or corrupt store never stops setup: the route starts afresh."""
    freezer.move_to(START)
    store = MemoryStore()
    store.data = stored
    harness = await Harness(store).start()
    assert harness.digests.pending_events("r1") == 0
    await harness.pipeline.async_handle_event(door_event())
    assert harness.digests.pending_events("r1") == 1


async def test_forgotten_route_is_dropped_from_the_store(
    freezer: FrozenDateTimeFactory,
):
    """A removed route's state leaves the store; an unloaded one keeps it."""
    freezer.move_to(START)
    store = MemoryStore()
    harness = await Harness(store).start()
    await harness.pipeline.async_handle_event(door_event())
    harness.digests.unconfigure("r1")
    assert await harness.pipeline.async_handle_event(door_event()) != []
    assert "r1" in store.data["routes"]
    await harness.digests.async_forget("r1")
    assert store.data["routes"] == {}


def test_options_parse() -> None:
    """Route options → config; no schedule → None; bad media counts are clamped."""
    assert DigestConfig.from_options("r", "R", "gitea", {}) is None
    parsed = DigestConfig.from_options(
        "r",
        "R",
        "gitea",
        {
            "schedule": {"kind": "interval", "hours": 6},
            "digest_mode": "also",
            "digest_max_media": 500,
            "digest_send_empty": True,
        },
    )
    assert parsed is not None
    assert parsed.mode is DigestMode.ALSO
    assert parsed.max_media == 50 and parsed.send_empty
    odd = DigestConfig.from_options(
        "r",
        "R",
        "gitea",
        {
            "schedule": {"kind": "daily", "at": "07:00"},
            "digest_mode": "sometimes",
            "digest_max_media": "ten",
        },
    )
    assert odd is not None and odd.mode is DigestMode.INSTEAD and odd.max_media == 10
    with pytest.raises(ValueError):
        DigestConfig.from_options("r", "R", "gitea", {"schedule": {"kind": "daily"}})


async def test_saved_state_is_a_snapshot(freezer: FrozenDateTimeFactory):
    """What `save` receives does not change with later events (HA's Store writes it
    later, from a worker thread)."""
    freezer.move_to(START)
    received: list[dict[str, Any]] = []

    async def save(data: dict[str, Any]) -> None:
        received.append(data)

    digests = DigestAccumulator(save=save)
    digests.configure(config(source_kind="gitea"))
    push = BridgeEvent(
        source_entry_id="src",
        source_kind="gitea",
        event_type="push",
        data=freeze({"repository": "acme/tools", "branch": "main", "commit_count": 2}),
        occurred_at=START,
    )
    await digests.async_add("r1", push)
    first = json.dumps(received[0])
    await digests.async_add("r1", push)
    assert json.dumps(received[0]) == first
    assert received[-1]["routes"]["r1"]["period"]["stats"]["commits"] == 4
