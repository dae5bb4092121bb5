"""Delivery policy between router and destinations: nothing lost, nothing twice.

- Quiet hours per destination: `defer` holds notifications until the window ends (then
  one digest per route, or one by one); `silent` delivers at once without sound.
- Transient failures are retried with exponential backoff and jitter; what still fails
  waits, in order, in a persistent outbox. Permanent failures are not retried.
- Per destination, notifications leave in the order they arrived: while anything waits,
  new ones queue behind it.
- Every change to what waits is saved (through the `save` callback) before the call
  that caused it returns, so an acknowledged event survives a restart.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from enum import StrEnum
import random
from typing import Any

from .i18n import DEFAULT_LANGUAGE, destination_language
from .limits import (
    MAX_PENDING_MEDIA_BYTES,
    MAX_PENDING_PER_DESTINATION,
    MAX_RETRY_AFTER,
    OUTBOX_MAX_RETRY_DELAY,
    OUTBOX_RETRY_DELAY,
    RATE_LIMIT_RETRIES,
    RETRY_ATTEMPTS,
    RETRY_BASE_DELAY,
    RETRY_BUDGET,
    RETRY_MAX_DELAY,
)
from .log import get_logger
from .models import (
    DeliveryContext,
    DeliveryError,
    DeliveryResult,
    Destination,
    Notification,
)
from .outbox import (
    DEFAULT_ROUTE_NAME,
    DestinationQueue,
    DrainUnit,
    PendingItem,
    PendingReason,
    build_units,
    new_pending,
    without_bytes,
)
from .prepare import Turns, prepared

_LOGGER = get_logger(__name__)


class QuietMode(StrEnum):
    """What quiet hours do to a notification."""

    DEFER = "defer"
    SILENT = "silent"


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily window, in local time, that may wrap midnight."""

    start: time
    end: time
    mode: QuietMode = QuietMode.DEFER
    # Days (0 = Monday) on which a window may start; empty means every day.
    weekdays: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        """Refuse an empty window: it would silently do nothing."""
        if self.start == self.end:
            raise ValueError("quiet hours start and end are the same")

    def window_start(self, now: datetime) -> datetime | None:
        """Return when the window containing `now` began, or None outside one."""
        clock = now.time().replace(tzinfo=None)
        if self.start < self.end:
            inside, day = self.start <= clock < self.end, now.date()
        elif clock >= self.start:
            inside, day = True, now.date()
        else:
            inside, day = clock < self.end, now.date() - timedelta(days=1)
        if not inside or (self.weekdays and day.weekday() not in self.weekdays):
            return None
        return datetime.combine(day, self.start, tzinfo=now.tzinfo)

    def active(self, now: datetime) -> bool:
        """Return whether `now` is inside a quiet window."""
        return self.window_start(now) is not None


def exponential_backoff(base: float, cap: float, attempt: int) -> float:
    """Return base * 2**(attempt - 1), at most `cap` (attempt counts from 1)."""
    factor: int = 2 ** max(0, attempt - 1)  # int ** int is Any to typeshed
    return min(cap, base * factor)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with jitter, bounded in attempts and time.

    The one retry policy of the integration: deliveries use it here, and targets
    use the same values for the retries of single calls (e.g. Telegram's 5xx and
    connection errors, and how many 429 waits a call honours).
    """

    attempts: int = RETRY_ATTEMPTS
    base_delay: float = RETRY_BASE_DELAY
    max_delay: float = RETRY_MAX_DELAY
    budget: float = RETRY_BUDGET
    outbox_delay: float = OUTBOX_RETRY_DELAY
    outbox_max_delay: float = OUTBOX_MAX_RETRY_DELAY
    rate_limit_retries: int = RATE_LIMIT_RETRIES
    max_retry_after: float = MAX_RETRY_AFTER

    def delay(self, attempt: int, retry_after: float | None, jitter: float) -> float:
        """Return the wait before attempt `attempt + 1`; `jitter` is in [0, 1)."""
        if retry_after is not None:
            return retry_after
        backoff = exponential_backoff(self.base_delay, self.max_delay, attempt)
        return backoff * (0.8 + 0.4 * jitter)

    def outbox_wait(self, failures: int) -> float:
        """Return how long the outbox waits after `failures` failed rounds."""
        return exponential_backoff(self.outbox_delay, self.outbox_max_delay, failures)


class DeliveryPolicy:
    """Applies quiet hours, retries and the ordered outbox for every destination."""

    def __init__(
        self,
        *,
        clock: Callable[[], datetime],
        save: Callable[[dict[str, Any]], Awaitable[None]] | None = None,
        retry: RetryPolicy | None = None,
        max_pending: int = MAX_PENDING_PER_DESTINATION,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        """`clock` returns the local time (aware); `save` persists `as_dict()`."""
        self._clock = clock
        self._save = save
        self._retry = retry or RetryPolicy()
        self._max_pending = max_pending
        self._sleep = sleep
        self._jitter = jitter
        self._quiet: dict[str, QuietHours] = {}
        # Muted (a chat's /mute): held like deferring quiet hours until then.
        self._muted: dict[str, datetime] = {}
        self._max_pending_of: dict[str, int] = {}
        self._stored: dict[str, dict[str, Any]] = {}
        self._queues: dict[str, DestinationQueue] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._turns = Turns()
        self._save_lock = asyncio.Lock()
        self._changes = 0
        self._saved = 0
        self.on_backlog_changed: Callable[[str], None] | None = None
        # Called with the results of deliveries made from what waited.
        self.on_delivered: Callable[[list[DeliveryResult]], None] | None = None
        self._media_bytes = 0
        # Language of built-in texts for destinations that name none (HA's).
        self.default_language = DEFAULT_LANGUAGE
        self._send: (
            Callable[[Destination, Notification], Awaitable[DeliveryResult]] | None
        ) = None

    def bind(
        self, send: Callable[[Destination, Notification], Awaitable[DeliveryResult]]
    ) -> None:
        """Use the dispatcher's single attempt (send cap and timeout included)."""
        self._send = send

    # Configuration and state

    def set_quiet_hours(self, destination_id: str, quiet: QuietHours | None) -> None:
        """Set (or clear) a destination's quiet hours."""
        if quiet is None:
            self._quiet.pop(destination_id, None)
        else:
            self._quiet[destination_id] = quiet

    def set_muted_until(self, destination_id: str, until: datetime | None) -> None:
        """Hold a destination's notifications until `until` (None unmutes)."""
        if until is None:
            self._muted.pop(destination_id, None)
        else:
            self._muted[destination_id] = until

    def muted_until(self, destination_id: str) -> datetime | None:
        """Return until when a destination is muted (None: not muted now)."""
        until = self._muted.get(destination_id)
        return until if until is not None and until > self._clock() else None

    def set_max_pending(self, destination_id: str, max_pending: int | None) -> None:
        """Set (or reset to the default) how many notifications a destination keeps."""
        if max_pending is None:
            self._max_pending_of.pop(destination_id, None)
        else:
            self._max_pending_of[destination_id] = max_pending

    async def async_forget(self, destination_id: str) -> None:
        """Drop everything a removed destination had waiting."""
        if destination_id not in self._queues:
            return
        # Under the destination's lock: a drain in progress finishes first.
        async with self._lock(destination_id):
            queue = self._queues.pop(destination_id, None)
            if queue is None:
                return
            for item in queue.items:
                self._forget_item(item)
        await self._persist(destination_id)

    def make_due(self, destination_id: str) -> None:
        """Let what waits for a destination go out at the next flush (it came back)."""
        queue = self._queues.get(destination_id)
        if queue is not None:
            queue.retry_at = None
            queue.failures = 0

    def known_destinations(self) -> set[str]:
        """Return every destination that has (or had) a queue."""
        return set(self._queues)

    def backlog(self, destination_id: str) -> int:
        """Return how many notifications wait for a destination (folded included)."""
        queue = self._queues.get(destination_id)
        if queue is None:
            return 0
        return len(queue.items) + sum(queue.folded.values())

    def waiting_destinations(self) -> list[str]:
        """Return the destinations that have something waiting."""
        return [dest for dest, queue in self._queues.items() if queue.items]

    def as_dict(self) -> dict[str, Any]:
        """Return everything that waits, in its stored form."""
        return {
            dest: {
                "items": [self._stored_form(item) for item in queue.items],
                "folded": dict(queue.folded),
                "failures": queue.failures,
            }
            for dest, queue in self._queues.items()
            if queue.items or queue.folded
        }

    def _stored_form(self, item: PendingItem) -> dict[str, Any]:
        # Items never change once queued: convert each once, not on every save.
        stored = self._stored.get(item.item_id)
        if stored is None:
            stored = self._stored[item.item_id] = item.as_dict()
        return stored

    def restore(self, data: dict[str, Any] | None) -> None:
        """Load what waited before a restart; items already known are kept once."""
        for dest, stored in (data or {}).items():
            queue = self._queue(dest)
            known = {item.item_id for item in queue.items}
            for raw in stored.get("items", ()):
                item = PendingItem.from_dict(raw)
                if item.item_id not in known:
                    queue.items.append(item)
            for name, count in stored.get("folded", {}).items():
                queue.folded[name] = max(queue.folded.get(name, 0), int(count))
            queue.failures = int(stored.get("failures", 0))

    # Delivery

    async def async_deliver(
        self,
        destination: Destination,
        notification: Notification,
        context: DeliveryContext,
    ) -> DeliveryResult:
        """Deliver now, silence, defer or queue, as the policy says.

        Slow preparation (media downloads) happens first, outside the destination's
        lock and the send slot; the place in line is taken on arrival, so order holds.
        """
        dest_id = destination.destination_id
        async with (
            self._turns.place(dest_id) as place,
            prepared(destination, notification) as ready,
        ):
            await place.wait()
            async with self._lock(dest_id):
                place.go()
                return await self._deliver_locked(
                    destination, ready, notification, context
                )

    async def _deliver_locked(
        self,
        destination: Destination,
        ready: Destination,
        notification: Notification,
        context: DeliveryContext,
    ) -> DeliveryResult:
        dest_id = destination.destination_id
        now = self._clock()
        quiet = self._quiet.get(dest_id)
        muted = self.muted_until(dest_id) is not None
        if context.respect_quiet_hours and (
            muted or (quiet is not None and quiet.active(now))
        ):
            if muted or (quiet is not None and quiet.mode is QuietMode.DEFER):
                await self._enqueue(
                    dest_id,
                    new_pending(PendingReason.DEFERRED, notification, context, now),
                )
                return DeliveryResult(
                    destination_id=dest_id,
                    destination_name=destination.name,
                    success=True,
                    attempts=0,
                    deferred=True,
                )
            notification = replace(notification, disable_notification=True)
        queue = self._queue(dest_id)
        if queue.items and self._may_drain(dest_id, queue, now):
            # Quiet hours just ended or a retry is due: older ones go first.
            await self._drain_locked(destination, queue)
        if self._has_retries(dest_id):
            # Something older waits for a retry: keep the order, deliver after it.
            await self._enqueue(
                dest_id,
                new_pending(PendingReason.RETRY, notification, context, now),
            )
            return self._queued_result(
                destination, "queued behind earlier notifications"
            )
        try:
            return await self._send_with_retries(ready, notification)
        except DeliveryError as err:
            if err.permanent:
                raise
            await self._enqueue(
                dest_id,
                new_pending(PendingReason.RETRY, notification, context, now),
            )
            if queue.retry_at is None:
                queue.retry_at = now + timedelta(
                    seconds=max(self._retry.outbox_wait(1), err.retry_after or 0)
                )
            return self._queued_result(
                destination, f"{err} (queued for retry)", attempts=err.attempts
            )

    def _has_retries(self, dest_id: str) -> bool:
        """Return whether something waits for a retry (a failed send, or a digest
        whose delivery failed): new notifications must queue behind it."""
        queue = self._queues.get(dest_id)
        return queue is not None and (
            (bool(queue.items) and queue.retry_at is not None)
            or any(item.reason is PendingReason.RETRY for item in queue.items)
        )

    def _queued_result(
        self, destination: Destination, error: str, attempts: int = 0
    ) -> DeliveryResult:
        return DeliveryResult(
            destination_id=destination.destination_id,
            destination_name=destination.name,
            success=False,
            attempts=attempts,
            errors=(error,),
            queued=True,
        )

    async def _send_with_retries(
        self, destination: Destination, notification: Notification
    ) -> DeliveryResult:
        """Deliver, retrying transient failures with backoff within the budget."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        attempt = 0
        while True:
            attempt += 1
            try:
                if self._send is None:
                    result = await destination.async_deliver(notification)
                else:
                    result = await self._send(destination, notification)
            except DeliveryError as err:
                delay = self._retry.delay(attempt, err.retry_after, self._jitter())
                spent = loop.time() - started
                if (
                    err.permanent
                    or attempt >= self._retry.attempts
                    or spent + delay > self._retry.budget
                ):
                    err.attempts = attempt
                    raise
                # Debug: the hub logs the start and end of an outage once each.
                _LOGGER.debug(
                    "Delivery to %s failed (%s); retry %d in %.1f s",
                    destination.name,
                    err,
                    attempt,
                    delay,
                )
                await self._sleep(delay)
            else:
                return replace(result, attempts=result.attempts + attempt - 1)

    # Draining what waits

    async def async_flush(
        self,
        resolve: Callable[[str], Destination | None],
        destination_ids: Iterable[str] | None = None,
        *,
        force: bool = False,
    ) -> int:
        """Deliver what waits (a digest per route where asked); returns how many
        notifications went out. Without `force`, quiet hours and retry timers hold."""
        delivered = 0
        targets = (
            list(destination_ids) if destination_ids is not None else list(self._queues)
        )
        for dest_id in targets:
            destination = resolve(dest_id)
            if destination is not None:
                delivered += await self._drain(destination, force=force)
        return delivered

    async def _drain(self, destination: Destination, *, force: bool) -> int:
        dest_id = destination.destination_id
        async with self._lock(dest_id):
            queue = self._queue(dest_id)
            now = self._clock()
            if not queue.items or (
                not force and not self._may_drain(dest_id, queue, now)
            ):
                return 0
            return await self._drain_locked(destination, queue)

    async def _drain_locked(
        self, destination: Destination, queue: DestinationQueue
    ) -> int:
        """Deliver what waits, in order, until done or a transient failure; report
        every delivery made (through `on_delivered`). Returns notifications sent."""
        sent = 0
        results: list[DeliveryResult] = []
        try:
            language = destination_language(destination, self.default_language)
            for unit in build_units(queue, language):
                try:
                    results.append(
                        await self._send_with_retries(destination, unit.notification)
                    )
                except DeliveryError as err:
                    results.append(
                        DeliveryResult(
                            destination_id=destination.destination_id,
                            destination_name=destination.name,
                            success=False,
                            attempts=err.attempts,
                            errors=(str(err),),
                            queued=not err.permanent,
                        )
                    )
                    if not err.permanent:
                        self._schedule_retry(destination, queue, err)
                        break
                    _LOGGER.error(
                        "Dropping %d notification(s) for %s: %s",
                        len(unit.items),
                        destination.name,
                        err,
                    )
                else:
                    sent += len(unit.items)
                self._remove(queue, unit)
                await self._persist(destination.destination_id)
            else:
                queue.failures = 0
                queue.retry_at = None
        finally:
            if results and self.on_delivered is not None:
                self.on_delivered(results)
        return sent

    def _schedule_retry(
        self, destination: Destination, queue: DestinationQueue, err: DeliveryError
    ) -> None:
        queue.failures += 1
        # Never sooner than the service asked (a long 429 retry_after).
        wait = max(self._retry.outbox_wait(queue.failures), err.retry_after or 0)
        queue.retry_at = self._clock() + timedelta(seconds=wait)
        # Debug only: the start and the end of an outage are logged once by the hub.
        _LOGGER.debug(
            "Outbox of %s still failing (%s); %d waiting",
            destination.name,
            err,
            len(queue.items),
        )

    def _may_drain(self, dest_id: str, queue: DestinationQueue, now: datetime) -> bool:
        if self.muted_until(dest_id) is not None:
            return False
        quiet = self._quiet.get(dest_id)
        if quiet is not None and quiet.mode is QuietMode.DEFER and quiet.active(now):
            return False
        return queue.retry_at is None or now >= queue.retry_at

    def _remove(self, queue: DestinationQueue, unit: DrainUnit) -> None:
        done = {item.item_id for item in unit.items}
        queue.items = deque(item for item in queue.items if item.item_id not in done)
        for item in unit.items:
            self._forget_item(item)
        for name in unit.folded:
            queue.folded.pop(name, None)

    def _forget_item(self, item: PendingItem) -> None:
        self._stored.pop(item.item_id, None)
        self._media_bytes -= item.media_bytes

    async def _enqueue(self, dest_id: str, item: PendingItem) -> None:
        queue = self._queue(dest_id)
        if self._media_bytes + item.media_bytes > MAX_PENDING_MEDIA_BYTES:
            item = without_bytes(item)
        self._media_bytes += item.media_bytes
        queue.items.append(item)
        while len(queue.items) > self._max_pending_of.get(dest_id, self._max_pending):
            oldest = queue.items.popleft()
            self._forget_item(oldest)
            name = oldest.route_name or DEFAULT_ROUTE_NAME
            queue.folded[name] = queue.folded.get(name, 0) + 1
        await self._persist(dest_id)

    async def _persist(self, dest_id: str) -> None:
        """Save after a change; concurrent changes share one save."""
        self._changes += 1
        wanted = self._changes
        if self.on_backlog_changed is not None:
            self.on_backlog_changed(dest_id)
        if self._save is None:
            return
        async with self._save_lock:
            if self._saved >= wanted:
                return
            target = self._changes
            await self._save(self.as_dict())
            self._saved = target

    def _queue(self, dest_id: str) -> DestinationQueue:
        return self._queues.setdefault(dest_id, DestinationQueue())

    def _lock(self, dest_id: str) -> asyncio.Lock:
        return self._locks.setdefault(dest_id, asyncio.Lock())
