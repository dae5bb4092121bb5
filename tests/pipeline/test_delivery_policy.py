"""Delivery policy: quiet hours, digests, retries, the ordered outbox, persistence,
and coalescing."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta

import pytest

from custom_components.notify_bridge.pipeline.coalesce import merge_events
from custom_components.notify_bridge.pipeline.dispatch import Dispatcher
from custom_components.notify_bridge.pipeline.engine import Pipeline
from custom_components.notify_bridge.pipeline.models import (
    DeliveryResult,
    DispatchStatus,
    MediaItem,
    MediaType,
    Notification,
    Route,
    freeze,
)
from custom_components.notify_bridge.pipeline.policy import (
    DeliveryPolicy,
    QuietHours,
    QuietMode,
    RetryPolicy,
)

from .helpers import DeliveryError, MemoryDestination, make_event

NIGHT = QuietHours(start=time(22, 0), end=time(7, 0))


class Clock:
    """A settable local clock."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class FlakyDestination(MemoryDestination):
    """Fails transiently while `down` is set, then delivers."""

    down: bool = False
    calls: int = 0
    permanent: bool = False

    async def async_deliver(self, notification: Notification) -> DeliveryResult:
        self.calls += 1
        if self.down:
            raise DeliveryError("502 Bad Gateway", permanent=self.permanent)
        return await super().async_deliver(notification)


def at(hour: int, minute: int = 0, day: int = 6) -> datetime:
    """2025-01-<day> (the 6th is a Monday) at hour:minute."""
    return datetime(2025, 1, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("quiet", "now", "active"),
    [
        (NIGHT, at(23), True),
        (NIGHT, at(3), True),
        (NIGHT, at(7), False),
        (NIGHT, at(12), False),
        (NIGHT, at(22), True),
        (QuietHours(time(13, 0), time(14, 0)), at(13, 30), True),
        (QuietHours(time(13, 0), time(14, 0)), at(14, 0), False),
        # Window starting Sundays only: Monday 03:00 belongs to Sunday's window.
        (QuietHours(time(22, 0), time(7, 0), weekdays=frozenset({6})), at(3), True),
        (QuietHours(time(22, 0), time(7, 0), weekdays=frozenset({6})), at(23), False),
    ],
)
def test_quiet_hours_windows(quiet: QuietHours, now: datetime, active: bool) -> None:
    """Windows may wrap midnight; weekdays name the day a window starts."""
    assert quiet.active(now) is active


def test_empty_window_is_refused() -> None:
    """start == end would silently do nothing, so it is an error."""
    with pytest.raises(ValueError, match="same"):
        QuietHours(time(8, 0), time(8, 0))


def make(
    *dests: MemoryDestination, clock: Clock, saved: list | None = None, **policy_args
) -> tuple[Pipeline, DeliveryPolicy, list[float]]:
    """A pipeline with a policy whose sleeps are recorded, not slept."""
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async def save(data: dict) -> None:
        if saved is not None:
            saved.append(data)

    policy = DeliveryPolicy(
        clock=clock, save=save, sleep=sleep, jitter=lambda: 0.5, **policy_args
    )
    by_id = {dest.destination_id: dest for dest in dests}
    pipeline = Pipeline(by_id.get, dispatcher=Dispatcher(policy=policy))
    return pipeline, policy, sleeps


def route(digest: bool = True, coalesce: float = 0, name: str = "Family") -> Route:
    """A route of source `src` to destination `a`."""
    return Route(
        route_id=f"r-{name}",
        name=name,
        source_entry_id="src",
        event_types=frozenset({"thing_happened"}),
        match=freeze({}),
        destinations=("a",),
        template="{{ data.text }}",
        digest=digest,
        coalesce_seconds=coalesce,
    )


async def test_defer_at_night_and_digest_at_window_end() -> None:
    """Night events wait; at 07:00 they go out as one digest per route."""
    clock = Clock(at(23))
    dest = MemoryDestination("a")
    saved: list = []
    pipeline, policy, _ = make(dest, clock=clock, saved=saved)
    policy.set_quiet_hours("a", NIGHT)
    pipeline.router.set_routes("src", [route()])

    for text in ("one", "two", "three"):
        [summary] = await pipeline.async_handle_event(
            make_event({"data": {"text": text}})
        )
        assert summary.status is DispatchStatus.DEFERRED
        assert summary.results[0].deferred
    assert dest.received == []
    assert policy.backlog("a") == 3
    assert len(saved[-1]["a"]["items"]) == 3  # saved before the call returned

    clock.now = at(6, 59)
    assert await pipeline.async_flush_waiting() == 0
    clock.now = at(7, 0)
    assert await pipeline.async_flush_waiting() == 3
    [digest] = dest.received
    assert digest.title == "Family"
    assert digest.message.startswith(
        "While you were away: 3 notifications from Family."
    )
    assert digest.message.endswith("one\n\ntwo\n\nthree")
    assert policy.backlog("a") == 0
    assert saved[-1] == {}


async def test_one_by_one_when_the_route_says_so() -> None:
    """A route without digest delivers each held notification, in order."""
    clock = Clock(at(23))
    dest = MemoryDestination("a")
    pipeline, policy, _ = make(dest, clock=clock)
    policy.set_quiet_hours("a", NIGHT)
    pipeline.router.set_routes("src", [route(digest=False)])
    for text in ("one", "two"):
        await pipeline.async_handle_event(make_event({"data": {"text": text}}))
    clock.now = at(8)
    await pipeline.async_flush_waiting()
    assert [n.message for n in dest.received] == ["one", "two"]


async def test_silent_mode_delivers_without_sound() -> None:
    """Silent quiet hours deliver at once with disable_notification."""
    dest = MemoryDestination("a")
    pipeline, policy, _ = make(dest, clock=Clock(at(23)))
    policy.set_quiet_hours("a", QuietHours(time(22, 0), time(7, 0), QuietMode.SILENT))
    summary = await pipeline.async_send(["a"], lambda d: Notification(message="m"))
    assert summary.status is DispatchStatus.OK
    assert dest.received[0].disable_notification is True


async def test_send_can_ignore_quiet_hours() -> None:
    """respect_quiet_hours=False delivers at once."""
    dest = MemoryDestination("a")
    pipeline, policy, _ = make(dest, clock=Clock(at(23)))
    policy.set_quiet_hours("a", NIGHT)
    await pipeline.async_send(
        ["a"], lambda d: Notification(message="now"), respect_quiet_hours=False
    )
    assert [n.message for n in dest.received] == ["now"]


async def test_overflow_is_folded_into_the_digest() -> None:
    """Beyond max_pending the oldest are folded into a count, never silently dropped."""
    clock = Clock(at(23))
    dest = MemoryDestination("a")
    pipeline, policy, _ = make(dest, clock=clock, max_pending=3)
    policy.set_quiet_hours("a", NIGHT)
    pipeline.router.set_routes("src", [route()])
    for index in range(8):
        await pipeline.async_handle_event(make_event({"data": {"text": f"m{index}"}}))
    assert policy.backlog("a") == 8
    clock.now = at(9)
    await pipeline.async_flush_waiting()
    [digest] = dest.received
    assert "8 notifications from Family" in digest.message
    assert digest.message.endswith("m5\n\nm6\n\nm7\n\n… and 5 earlier.")
    assert policy.backlog("a") == 0


async def test_transient_failures_retry_with_backoff() -> None:
    """Two 502s then success: delivered on the third attempt after 1 s and 2 s."""
    dest = FlakyDestination("a")
    pipeline, _, sleeps = make(dest, clock=Clock(at(12)))
    failures = iter([True, True, False])

    original = dest.async_deliver

    async def deliver(notification: Notification) -> DeliveryResult:
        dest.down = next(failures)
        return await original(notification)

    dest.async_deliver = deliver  # type: ignore[method-assign]
    summary = await pipeline.async_send(["a"], lambda d: Notification(message="m"))
    assert summary.status is DispatchStatus.OK
    assert summary.results[0].attempts == 3
    assert sleeps == [1.0, 2.0]


async def test_permanent_failures_are_not_retried() -> None:
    """Chat not found and the like fail at once and are not queued."""
    dest = FlakyDestination("a", down=True, permanent=True)
    pipeline, policy, sleeps = make(dest, clock=Clock(at(12)))
    summary = await pipeline.async_send(["a"], lambda d: Notification(message="m"))
    assert summary.status is DispatchStatus.FAIL
    assert dest.calls == 1
    assert sleeps == []
    assert policy.backlog("a") == 0


async def test_outage_queues_in_order_and_delivers_once() -> None:
    """During an outage everything waits in order; after it, all go out once."""
    clock = Clock(at(12))
    dest = FlakyDestination("a", down=True)
    pipeline, policy, _ = make(dest, clock=clock)
    for index in range(5):
        summary = await pipeline.async_send(
            ["a"], lambda d, i=index: Notification(message=f"m{i}")
        )
        assert summary.status is DispatchStatus.QUEUED
        assert "queued" in summary.errors[0]
    assert policy.backlog("a") == 5

    clock.now = at(12, 0) + timedelta(seconds=10)
    assert await pipeline.async_flush_waiting() == 0  # retry not due yet
    clock.now = at(12, 1)
    assert await pipeline.async_flush_waiting() == 0  # still down
    dest.down = False
    clock.now = at(12, 30)
    assert await pipeline.async_flush_waiting() == 5
    assert [n.message for n in dest.received] == [f"m{i}" for i in range(5)]
    assert await pipeline.async_flush_waiting(force=True) == 0


async def test_waiting_survives_restart_exactly_once() -> None:
    """What waits is saved; a new policy restored from it delivers each item once."""
    clock = Clock(at(23))
    saved: list = []
    pipeline, policy, _ = make(MemoryDestination("a"), clock=clock, saved=saved)
    policy.set_quiet_hours("a", NIGHT)
    pipeline.router.set_routes("src", [route(digest=False)])
    for index in range(50):
        await pipeline.async_handle_event(make_event({"data": {"text": f"m{index}"}}))

    after = MemoryDestination("a")
    pipeline2, policy2, _ = make(after, clock=Clock(at(8)))
    policy2.restore(saved[-1])
    policy2.restore(saved[-1])  # restoring twice must not duplicate
    assert policy2.backlog("a") == 50
    assert await pipeline2.async_flush_waiting() == 50
    assert [n.message for n in after.received] == [f"m{i}" for i in range(50)]


async def test_flush_forces_delivery_during_quiet_hours() -> None:
    """flush_deferred delivers now, whatever the clock says."""
    dest = MemoryDestination("a")
    pipeline, policy, _ = make(dest, clock=Clock(at(23)))
    policy.set_quiet_hours("a", NIGHT)
    await pipeline.async_send(["a"], lambda d: Notification(message="held"))
    assert await pipeline.async_flush_waiting(["a", "unknown"], force=True) == 1
    assert [n.message for n in dest.received] == ["held"]


async def test_coalescing_merges_a_burst() -> None:
    """A burst about one album becomes one notification with capped media."""
    dest = MemoryDestination("a")
    pipeline, _, _ = make(dest, clock=Clock(at(12)))
    pipeline.router.set_routes("src", [route(coalesce=0.05)])
    photo = MediaItem(type=MediaType.PHOTO, url="https://example.com/p.jpg")
    for index in range(3):
        event = make_event({"data": {"text": f"burst {index}"}, "assets": [index] * 5})
        event = replace(event, item_key="album-1", media=(photo,) * 5)
        assert await pipeline.async_handle_event(event) == []
    other = make_event({"data": {"text": "other"}})
    await pipeline.async_handle_event(other)  # no item key: delivered at once
    assert [n.message for n in dest.received] == ["other"]
    assert pipeline.coalescer.held == 3

    await asyncio.sleep(0.1)
    await pipeline.coalescer.async_release()
    merged = dest.received[1]
    # The newest text; 10 of the 15 photos, the other 5 counted.
    assert merged.message == "burst 2\n\n… and 5 more"
    assert len(merged.media) == 10
    assert pipeline.coalescer.held == 0


async def test_release_on_unload_delivers_held_windows() -> None:
    """Releasing a source's windows delivers them now rather than losing them."""
    dest = MemoryDestination("a")
    pipeline, _, _ = make(dest, clock=Clock(at(12)))
    pipeline.router.set_routes("src", [route(coalesce=3600)])
    event = make_event({"data": {"text": "held"}})
    event = replace(event, item_key="k")
    await pipeline.async_handle_event(event)
    await pipeline.coalescer.async_release("src")
    assert [n.message for n in dest.received] == ["held"]


def test_retry_policy_bounds() -> None:
    """Backoff doubles up to the cap; retry_after wins; the outbox backs off too."""
    retry = RetryPolicy()
    assert retry.delay(1, None, 0.5) == 1.0
    assert retry.delay(10, None, 0.5) == 30.0
    assert retry.delay(1, 7.0, 0.5) == 7.0
    assert retry.outbox_wait(1) == 30.0
    assert retry.outbox_wait(10) == 600.0


def test_merge_events_concatenates_lists_and_counts() -> None:
    """Merged data: newest values, list fields of all events, and the count."""
    events = [make_event({"assets": [i, i], "album": f"v{i}"}) for i in range(3)]
    merged = merge_events(events)
    assert merged.data["assets"] == [0, 0, 1, 1, 2, 2]
    assert merged.data["album"] == "v2"
    assert merged.data["coalesced"] == {"count": 3}
    assert merge_events(events[:1]) is events[0]


async def test_coalescing_keeps_event_types_apart() -> None:
    """A push and a release about one repository stay two notifications."""
    dest = MemoryDestination("a")
    pipeline, _, _ = make(dest, clock=Clock(at(12)))
    both = replace(route(coalesce=3600), event_types=frozenset({"push", "release"}))
    pipeline.router.set_routes("src", [both])
    for event_type, text in (("push", "pushed"), ("release", "released")):
        event = make_event({"data": {"text": text}}, event_type=event_type)
        await pipeline.async_handle_event(replace(event, item_key="acme/tools"))
    await pipeline.coalescer.async_release()
    assert sorted(n.message for n in dest.received) == ["pushed", "released"]


async def test_waiting_media_bytes_are_kept_and_identities_stored() -> None:
    """Photos a source handed over as bytes reach the digest; the store keeps only
    their identity (bytes never go to disk)."""
    clock = Clock(at(23))
    dest = MemoryDestination("a")
    saved: list = []
    pipeline, policy, _ = make(dest, clock=clock, saved=saved)
    policy.set_quiet_hours("a", NIGHT)
    photo = MediaItem(type=MediaType.PHOTO, data=b"jpeg", identity="immich:1:preview")
    await pipeline.async_send(
        ["a"], lambda d: Notification(message="m", media=(photo,))
    )
    stored = saved[-1]["a"]["items"][0]["media"]
    assert stored == [
        {"type": "photo", "url": None, "identity": "immich:1:preview", "filename": None}
    ]
    clock.now = at(8)
    await pipeline.async_flush_waiting()
    assert dest.received[0].media[0].data == b"jpeg"


async def test_media_beyond_the_memory_budget_keeps_identity_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past the byte budget, waiting media keep their identity but no bytes."""
    monkeypatch.setattr(
        "custom_components.notify_bridge.pipeline.policy.MAX_PENDING_MEDIA_BYTES", 6
    )
    dest = MemoryDestination("a")
    pipeline, policy, _ = make(dest, clock=Clock(at(23)))
    policy.set_quiet_hours("a", NIGHT)
    for index in range(2):
        photo = MediaItem(type=MediaType.PHOTO, data=b"jpeg", identity=f"id{index}")
        await pipeline.async_send(
            ["a"], lambda d, p=photo: Notification(message="m", media=(p,))
        )
    await pipeline.async_flush_waiting(force=True)
    media = dest.received[0].media
    assert [(m.identity, m.data) for m in media] == [("id0", b"jpeg"), ("id1", None)]


async def test_older_notifications_go_first_when_quiet_hours_end() -> None:
    """A notification arriving after the window delivers the digest before itself."""
    clock = Clock(at(23))
    dest = MemoryDestination("a")
    pipeline, policy, _ = make(dest, clock=clock)
    policy.set_quiet_hours("a", NIGHT)
    pipeline.router.set_routes("src", [route()])
    await pipeline.async_handle_event(make_event({"data": {"text": "night"}}))
    clock.now = at(7, 0, day=7)
    await pipeline.async_handle_event(make_event({"data": {"text": "morning"}}))
    assert [n.message for n in dest.received] == ["night", "morning"]


async def test_deliveries_of_what_waited_are_summarized() -> None:
    """Flushing reports a summary like any dispatch (events, sensors, repairs)."""
    dest = FlakyDestination("a", down=True)
    clock = Clock(at(12))
    pipeline, _, _ = make(dest, clock=clock)
    summaries = []
    pipeline.add_listener(summaries.append)
    await pipeline.async_send(["a"], lambda d: Notification(message="m"))
    dest.down = False
    await pipeline.async_flush_waiting(force=True)
    assert [s.status for s in summaries] == [DispatchStatus.QUEUED, DispatchStatus.OK]
    assert summaries[0].results[0].queued


async def test_timeout_is_not_retried() -> None:
    """A delivery that timed out may have partly gone out: never sent twice."""
    dest = MemoryDestination("a", delay=1)
    policy = DeliveryPolicy(clock=Clock(at(12)))
    pipeline = Pipeline(
        {"a": dest}.get, dispatcher=Dispatcher(policy=policy, delivery_timeout=0.02)
    )
    summary = await pipeline.async_send(["a"], lambda d: Notification(message="m"))
    assert summary.status is DispatchStatus.FAIL
    assert summary.results[0].attempts == 1
    assert not summary.results[0].queued
    assert policy.backlog("a") == 0


async def test_forgetting_a_destination_drops_its_queue() -> None:
    """A removed destination's waiting notifications are dropped and saved so."""
    saved: list = []
    pipeline, policy, _ = make(MemoryDestination("a"), clock=Clock(at(23)), saved=saved)
    policy.set_quiet_hours("a", NIGHT)
    await pipeline.async_send(["a"], lambda d: Notification(message="m"))
    assert policy.known_destinations() == {"a"}
    await policy.async_forget("a")
    await policy.async_forget("never-known")
    assert policy.backlog("a") == 0
    assert saved[-1] == {}


async def test_outbox_waits_as_long_as_the_service_asked() -> None:
    """A retry_after longer than the backoff is honoured before the next try."""
    clock = Clock(at(12))
    dest = FlakyDestination("a")
    pipeline, policy, _ = make(dest, clock=clock)

    async def busy(notification: Notification) -> DeliveryResult:
        raise DeliveryError("429", retry_after=300)

    dest.async_deliver = busy  # type: ignore[method-assign]
    await pipeline.async_send(["a"], lambda d: Notification(message="m"))
    del dest.async_deliver  # back to the class's delivery
    clock.now = at(12, 4)
    assert await pipeline.async_flush_waiting() == 0
    clock.now = at(12, 6)
    assert await pipeline.async_flush_waiting() == 1
    policy.make_due("unknown")  # nothing waits there: no error


async def test_failed_digest_keeps_later_notifications_behind_it() -> None:
    """When the morning digest fails, new notifications wait behind it."""
    clock = Clock(at(23))
    dest = FlakyDestination("a")
    pipeline, policy, _ = make(dest, clock=clock)
    policy.set_quiet_hours("a", NIGHT)
    await pipeline.async_send(["a"], lambda d: Notification(message="night"))
    clock.now = at(7, 1, day=7)
    dest.down = True
    await pipeline.async_flush_waiting()
    dest.down = False
    await pipeline.async_send(["a"], lambda d: Notification(message="morning"))
    assert dest.received == []
    clock.now = at(8, day=7)
    await pipeline.async_flush_waiting()
    assert [n.message for n in dest.received] == ["night", "morning"]
