"""Delivery policy benchmark.

- 1,000 notifications deferred by quiet hours, saved to a JSON file as they arrive,
  then a "restart" (a new policy restored from that file) and the flush when quiet
  hours end: delivered (target exactly 1,000), duplicates (target 0), seconds to flush.
- Memory held by 10,000 pending notifications (target ≤ 20 MB).
- Events per second through the policy layer (router → coalescer → policy) with
  coalescing on.
- A scheduled digest of a day of 10,000 Immich events (40 albums, 3 assets each):
  folding them (each saved, as JSON, before the next), the stored size, and
  `digest_build_ms`: from the stored state after a restart to the finished digest
  text in English and Russian.

Run: .venv/bin/python benchmarks/policy.py — the last line is one JSON object.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, time
import json
from pathlib import Path
import sys
import tempfile
import time as clock
import tracemalloc

# Import from the repository, never from this folder (telegram.py here would shadow
# the python-telegram-bot package).
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from custom_components.notify_bridge.pipeline.digest import (
    DigestAccumulator,
    DigestConfig,
)
from custom_components.notify_bridge.pipeline.dispatch import Dispatcher
from custom_components.notify_bridge.pipeline.engine import Pipeline
from custom_components.notify_bridge.pipeline.models import (
    BridgeEvent,
    DeliveryContext,
    DeliveryResult,
    Notification,
    OutputFormat,
    Route,
    freeze,
)
from custom_components.notify_bridge.pipeline.policy import DeliveryPolicy, QuietHours
from custom_components.notify_bridge.pipeline.schedule import Schedule

NIGHT = QuietHours(start=time(22, 0), end=time(7, 0))
DEFERRED = 1_000
PENDING_FOR_MEMORY = 10_000
COALESCED_EVENTS = 20_000
UNCOALESCED_EVENTS = 5_000
DIGEST_EVENTS = 10_000


class Recorder:
    """An in-memory destination that counts what it receives."""

    destination_id = "chat"
    name = "Family chat"
    output_format = OutputFormat.HTML

    def __init__(self) -> None:
        self.messages: list[str] = []

    async def async_deliver(self, notification: Notification) -> DeliveryResult:
        self.messages.append(notification.message)
        return DeliveryResult(
            destination_id=self.destination_id,
            destination_name=self.name,
            success=True,
            messages_sent=1,
        )


def make_policy(now: datetime, path: Path | None) -> DeliveryPolicy:
    async def save(data: dict) -> None:
        if path is not None:
            text = json.dumps(data)
            await asyncio.get_running_loop().run_in_executor(
                None, path.write_text, text
            )

    policy = DeliveryPolicy(clock=lambda: now, save=save, max_pending=DEFERRED * 2)
    policy.set_quiet_hours("chat", NIGHT)
    return policy


async def restart_figures() -> dict[str, float | int]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "waiting.json"
        before = make_policy(datetime(2025, 1, 6, 23, 0, tzinfo=UTC), path)
        context = DeliveryContext(route_id="r", route_name="Family", digest=False)
        started = clock.perf_counter()
        for index in range(DEFERRED):
            result = await before.async_deliver(
                Recorder(), Notification(message=f"photo {index}"), context
            )
            assert result.deferred
        defer_seconds = clock.perf_counter() - started
        store_bytes = path.stat().st_size

        # Restart: a new policy knows only what the file says.
        after = make_policy(datetime(2025, 1, 7, 7, 1, tzinfo=UTC), path)
        after.restore(json.loads(path.read_text()))
        recorder = Recorder()
        started = clock.perf_counter()
        await after.async_flush(lambda _: recorder, ["chat"])
        flush_seconds = clock.perf_counter() - started
    counts = Counter(recorder.messages)
    return {
        "deferred": DEFERRED,
        "delivered": len(counts),
        "duplicates": sum(count - 1 for count in counts.values()),
        "in_order": recorder.messages == [f"photo {i}" for i in range(DEFERRED)],
        "seconds_to_defer_with_saves": round(defer_seconds, 3),
        "seconds_to_flush": round(flush_seconds, 3),
        "store_bytes": store_bytes,
    }


async def memory_figures() -> dict[str, float]:
    tracemalloc.start()
    baseline = tracemalloc.get_traced_memory()[0]
    policy = make_policy(datetime(2025, 1, 6, 23, 0, tzinfo=UTC), None)
    policy.set_max_pending("chat", PENDING_FOR_MEMORY)
    context = DeliveryContext(route_id="r", route_name="Family")
    destination = Recorder()
    for index in range(PENDING_FOR_MEMORY):
        await policy.async_deliver(
            destination,
            Notification(
                message=f"Alice added 3 photos to Family album ({index})",
                title="Family",
            ),
            context,
        )
    used = tracemalloc.get_traced_memory()[0] - baseline
    tracemalloc.stop()
    assert policy.backlog("chat") == PENDING_FOR_MEMORY
    return {
        "pending": PENDING_FOR_MEMORY,
        "memory_mb_for_10000_pending": round(used / 1e6, 2),
    }


async def coalescing_figures() -> dict[str, float | int]:
    """Router → coalescer → (window released) → renderer → policy → destination."""
    recorder = Recorder()
    policy = DeliveryPolicy(clock=lambda: datetime(2025, 1, 6, 12, tzinfo=UTC))
    pipeline = Pipeline({"chat": recorder}.get, dispatcher=Dispatcher(policy=policy))
    pipeline.router.set_routes(
        "immich",
        [
            Route(
                route_id="r",
                name="Family",
                source_entry_id="immich",
                event_types=frozenset({"assets_added"}),
                match=freeze({}),
                destinations=("chat",),
                template="{{ assets | length }} new photos in {{ album }}",
                coalesce_seconds=3600,
            )
        ],
    )
    events = [
        BridgeEvent(
            source_entry_id="immich",
            source_kind="immich",
            event_type="assets_added",
            data=freeze({"album": f"Album {i % 10}", "assets": [i]}),
            occurred_at=datetime(2025, 1, 6, 12, tzinfo=UTC),
            item_key=f"album-{i % 10}",
        )
        for i in range(COALESCED_EVENTS)
    ]
    started = clock.perf_counter()
    for event in events:
        await pipeline.async_handle_event(event)
    held_seconds = clock.perf_counter() - started
    await pipeline.coalescer.async_release()
    total_seconds = clock.perf_counter() - started
    return {
        "coalesced_events": COALESCED_EVENTS,
        "events_per_second_accepted_while_coalescing": round(
            COALESCED_EVENTS / held_seconds
        ),
        "events_per_second_end_to_end_with_coalescing": round(
            COALESCED_EVENTS / total_seconds
        ),
        "notifications_after_coalescing": len(recorder.messages),
    }


async def uncoalesced_figures() -> dict[str, float]:
    """Every event rendered and delivered through the policy (no window)."""
    recorder = Recorder()
    policy = DeliveryPolicy(clock=lambda: datetime(2025, 1, 6, 12, tzinfo=UTC))
    policy.set_quiet_hours("chat", NIGHT)  # configured, not active at noon
    pipeline = Pipeline({"chat": recorder}.get, dispatcher=Dispatcher(policy=policy))
    pipeline.router.set_routes(
        "src",
        [
            Route(
                route_id="r",
                name="Doorbell",
                source_entry_id="src",
                event_types=frozenset({"ring"}),
                match=freeze({}),
                destinations=("chat",),
                template="{{ door }} door rang",
            )
        ],
    )
    event = BridgeEvent(
        source_entry_id="src",
        source_kind="test",
        event_type="ring",
        data=freeze({"door": "Front"}),
        occurred_at=datetime(2025, 1, 6, 12, tzinfo=UTC),
    )
    started = clock.perf_counter()
    for _ in range(UNCOALESCED_EVENTS):
        await pipeline.async_handle_event(event)
    seconds = clock.perf_counter() - started
    assert len(recorder.messages) == UNCOALESCED_EVENTS
    return {
        "events_per_second_through_policy_without_coalescing": round(
            UNCOALESCED_EVENTS / seconds
        )
    }


def digest_event(index: int) -> BridgeEvent:
    album = index % 40
    return BridgeEvent(
        source_entry_id="immich",
        source_kind="immich",
        event_type="assets_added" if index % 10 else "assets_removed",
        data=freeze(
            {
                "album": {"id": f"album-{album}", "name": f"Album {album}"},
                "assets": [
                    {"id": f"{index:08d}-0000-4000-8000-{n:012d}", "type": "IMAGE"}
                    for n in range(3)
                ],
                "removed_count": 3,
            }
        ),
        occurred_at=datetime(2025, 1, 6, 12, tzinfo=UTC),
        item_key=f"album-{album}",
    )


async def digest_figures() -> dict[str, float | int]:
    """Fold a day of events (saved after each), then build the digest after a
    restart."""
    stored: dict[str, str] = {}

    async def save(data: dict) -> None:
        stored["json"] = json.dumps(data)

    async def load() -> dict:
        return json.loads(stored["json"])

    config = DigestConfig(
        route_id="r",
        route_name="Family",
        source_kind="immich",
        schedule=Schedule.from_dict({"kind": "daily", "at": "20:00"}),
    )
    events = [digest_event(index) for index in range(DIGEST_EVENTS)]
    digests = DigestAccumulator(save=save)
    digests.configure(config)
    tracemalloc.start()
    started = clock.perf_counter()
    for event in events:
        await digests.async_add("r", event)
    fold_seconds = clock.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    started = clock.perf_counter()
    restarted = DigestAccumulator(load=load, save=save)
    await restarted.async_load()
    restarted.configure(config)
    digest = await restarted.async_take("r")
    assert digest is not None and digest.period.total == DIGEST_EVENTS
    english, russian = digest.message("en"), digest.message("ru")
    build_ms = (clock.perf_counter() - started) * 1000
    assert english.startswith("Family: 10,000 events") and russian
    return {
        "digest_build_ms": round(build_ms, 2),
        "digest_fold_events_per_second": round(DIGEST_EVENTS / fold_seconds),
        "digest_state_bytes": len(stored["json"]),
        "digest_fold_peak_kb": round(peak / 1024),
    }


async def main() -> None:
    restart = await restart_figures()
    print(
        f"restart: {restart['delivered']} of {restart['deferred']} delivered, "
        f"{restart['duplicates']} duplicates, in order {restart['in_order']}, "
        f"flush {restart['seconds_to_flush']} s"
    )
    memory = await memory_figures()
    print(
        f"memory: {memory['memory_mb_for_10000_pending']} MB for 10,000 pending (target ≤ 20)"
    )
    coalescing = await coalescing_figures()
    print(
        "coalescing: "
        f"{coalescing['events_per_second_end_to_end_with_coalescing']} events/s end "
        f"to end, {coalescing['coalesced_events']} events → "
        f"{coalescing['notifications_after_coalescing']} notifications"
    )
    plain = await uncoalesced_figures()
    print(
        "without coalescing: "
        f"{plain['events_per_second_through_policy_without_coalescing']} events/s"
    )
    digest = await digest_figures()
    print(
        f"digest: {DIGEST_EVENTS} events folded at "
        f"{digest['digest_fold_events_per_second']} events/s (each saved), state "
        f"{digest['digest_state_bytes']} bytes, built in {digest['digest_build_ms']} ms"
    )
    print(json.dumps({**restart, **memory, **coalescing, **plain, **digest}))


if __name__ == "__main__":
    asyncio.run(main())
