"""Coalescing: events about the same item within a window become one notification."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import replace
from typing import Any

from .limits import MAX_COALESCED_MEDIA
from .models import BridgeEvent, Route, freeze

# A coroutine, not any awaitable: the released window runs as its own task.
type Emit = Callable[[Route, BridgeEvent], Coroutine[Any, Any, Any]]


def merge_events(events: list[BridgeEvent]) -> BridgeEvent:
    """Merge events about one item: the newest data, list fields concatenated, media
    capped (the rest counted in `media_overflow`), and `coalesced.count` set."""
    last = events[-1]
    if len(events) == 1:
        return last
    data = dict(last.data)
    for key, value in last.data.items():
        if isinstance(value, list | tuple) and all(
            isinstance(event.data.get(key), list | tuple) for event in events
        ):
            data[key] = [part for event in events for part in event.data[key]]
    data["coalesced"] = {"count": len(events)}
    media = [item for event in events for item in event.media]
    overflow = sum(event.media_overflow for event in events)
    return replace(
        last,
        data=freeze(data),
        media=tuple(media[:MAX_COALESCED_MEDIA]),
        media_overflow=overflow + max(0, len(media) - MAX_COALESCED_MEDIA),
    )


class Coalescer:
    """Holds events per (route, item) for the route's window, then emits one."""

    def __init__(
        self,
        emit: Emit,
        create_task: Callable[[Coroutine[Any, Any, Any]], asyncio.Task[Any]]
        | None = None,
    ) -> None:
        """`emit(route, merged_event)` delivers a released window; `create_task` lets
        the host track those deliveries (Home Assistant waits for them at stop)."""
        self._emit = emit
        self._create_task = create_task
        self._held: dict[tuple[str, str, str], tuple[Route, list[BridgeEvent]]] = {}
        self._timers: dict[tuple[str, str, str], asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    def offer(self, route: Route, event: BridgeEvent) -> bool:
        """Hold an event if its route coalesces; returns whether it was held."""
        if route.coalesce_seconds <= 0 or event.item_key is None:
            return False
        # The event type is part of the key: a push and a release about the same
        # repository are two notifications, each with its own template.
        key = (route.route_id, event.event_type, event.item_key)
        if key in self._held:
            self._held[key][1].append(event)
        else:
            self._held[key] = (route, [event])
            self._timers[key] = asyncio.get_running_loop().call_later(
                route.coalesce_seconds, self._release, key
            )
        return True

    @property
    def held(self) -> int:
        """Return how many events are being held."""
        return sum(len(events) for _, events in self._held.values())

    def _release(self, key: tuple[str, str, str]) -> None:
        self._timers.pop(key).cancel()
        route, events = self._held.pop(key)
        # Kept until done; async_release waits for it.
        create_task = self._create_task or asyncio.get_running_loop().create_task
        task = create_task(self._emit(route, merge_events(events)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def async_release(self, source_entry_id: str | None = None) -> None:
        """Emit held windows now (of one source, or all) and wait until delivered."""
        for key, (route, _) in list(self._held.items()):
            if source_entry_id is None or route.source_entry_id == source_entry_id:
                self._release(key)
        if self._tasks:
            await asyncio.gather(*self._tasks)
