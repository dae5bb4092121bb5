"""Fan a notification out to destinations and sum up what happened."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
import time
import uuid

from .limits import DELIVERY_TIMEOUT, MAX_CONCURRENT_SENDS, MAX_ERRORS_PER_SUMMARY
from .log import current_dispatch_id, get_logger
from .models import (
    DeliveryContext,
    DeliveryError,
    DeliveryResult,
    Destination,
    DispatchStatus,
    DispatchSummary,
    Notification,
    truncate_error,
)
from .policy import DeliveryPolicy
from .prepare import prepared

_LOGGER = get_logger(__name__)


def new_dispatch_id() -> str:
    """Return a short random id that correlates logs, events and responses."""
    return uuid.uuid4().hex[:12]


def failed_result(destination_id: str, name: str, error: str) -> DeliveryResult:
    """Return the result of a delivery that did not happen."""
    return DeliveryResult(
        destination_id=destination_id,
        destination_name=name,
        success=False,
        errors=(truncate_error(error),),
    )


def _partly(result: DeliveryResult) -> bool:
    """Return whether a delivery reached its destination only in part."""
    return (
        not result.success
        and result.messages_sent > 0
        and not result.queued
        and not result.deferred
    )


def dispatch_status(
    results: Sequence[DeliveryResult], *, failed_before: bool = False
) -> DispatchStatus:
    """Return the overall status: the least delivered outcome decides.

    A failure for good next to anything else is `partial` (so is an unconfirmed
    send, and a delivery that reached only part of its audience: a mail some
    recipients refused, an album with a photo missing); without one, something in
    the outbox makes it `queued`, something held by quiet hours `deferred`; only
    everything delivered now is `ok`.
    """
    failed = failed_before + sum(
        1
        for r in results
        if not r.success and not r.queued and not r.unconfirmed and not _partly(r)
    )
    if not results or failed == len(results) + failed_before:
        return DispatchStatus.FAIL
    if failed or any(r.unconfirmed or _partly(r) for r in results):
        return DispatchStatus.PARTIAL
    if any(r.queued for r in results):
        return DispatchStatus.QUEUED
    if any(r.deferred for r in results):
        return DispatchStatus.DEFERRED
    return DispatchStatus.OK


def summarize(
    dispatch_id: str,
    results: Sequence[DeliveryResult],
    *,
    started_at: datetime,
    started: float,
    route_id: str | None = None,
    request_id: str | None = None,
    extra_errors: Sequence[str] = (),
) -> DispatchSummary:
    """Build a summary: ok only when every destination succeeded, all errors kept."""
    status = dispatch_status(results, failed_before=bool(extra_errors))
    errors = [truncate_error(error) for error in extra_errors]
    # Every error is kept, also notes of delivered results (a video skipped as too
    # large is delivered without it, and the summary says so).
    errors.extend(
        f"{result.destination_name}: {error}"
        for result in results
        for error in result.errors
    )
    if not results and not errors:
        errors.append("no destinations")
    return DispatchSummary(
        dispatch_id=dispatch_id,
        status=status,
        results=tuple(results),
        errors=tuple(errors[:MAX_ERRORS_PER_SUMMARY]),
        started_at=started_at,
        duration_ms=(time.perf_counter() - started) * 1000,
        route_id=route_id,
        request_id=request_id,
    )


class Dispatcher:
    """Deliver concurrently, under one process-wide cap on sends in flight."""

    def __init__(
        self,
        *,
        max_concurrent_sends: int = MAX_CONCURRENT_SENDS,
        delivery_timeout: float = DELIVERY_TIMEOUT,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        policy: DeliveryPolicy | None = None,
    ) -> None:
        """Create the shared send cap; `policy` decides quiet hours and retries."""
        self._sends = asyncio.Semaphore(max_concurrent_sends)
        self._timeout = delivery_timeout
        self._clock = clock
        self.policy = policy
        if policy is not None:
            policy.bind(self.send_once)

    async def async_dispatch(
        self,
        deliveries: Sequence[tuple[Destination, Notification]],
        *,
        dispatch_id: str | None = None,
        route_id: str | None = None,
        request_id: str | None = None,
        failures: Sequence[DeliveryResult] = (),
        errors: Sequence[str] = (),
        context: DeliveryContext | None = None,
    ) -> DispatchSummary:
        """Deliver each notification; `failures` are results decided before sending."""
        dispatch_id = dispatch_id or new_dispatch_id()
        token = current_dispatch_id.set(dispatch_id)
        started_at, started = self._clock(), time.perf_counter()
        try:
            _LOGGER.debug(
                "Dispatching to %d destination(s), route %s, request %s",
                len(deliveries),
                route_id,
                request_id,
            )
            context = context or DeliveryContext(route_id=route_id)
            results = await asyncio.gather(
                *(self._deliver(dest, note, context) for dest, note in deliveries)
            )
            summary = summarize(
                dispatch_id,
                [*failures, *results],
                started_at=started_at,
                started=started,
                route_id=route_id,
                request_id=request_id,
                extra_errors=errors,
            )
            _LOGGER.debug(
                "Dispatch finished: %s (%d ok, %d failed)",
                summary.status,
                summary.delivered,
                summary.failed,
            )
            return summary
        finally:
            current_dispatch_id.reset(token)

    async def send_once(
        self, destination: Destination, notification: Notification
    ) -> DeliveryResult:
        """One attempt, under the process-wide send cap and the delivery timeout."""
        async with self._sends:
            try:
                async with asyncio.timeout(self._timeout):
                    return await destination.async_deliver(notification)
            except TimeoutError as err:
                # Not retried: part of the notification may already have gone out.
                raise DeliveryError(
                    f"timed out after {self._timeout:g} s", permanent=True
                ) from err

    async def _deliver(
        self,
        destination: Destination,
        notification: Notification,
        context: DeliveryContext,
    ) -> DeliveryResult:
        """Deliver to one destination; every failure becomes a failed result."""
        dest_id, name = destination.destination_id, destination.name
        try:
            if self.policy is not None:
                return await self.policy.async_deliver(
                    destination, notification, context
                )
            # Slow preparation (downloads) first, outside the send slot.
            async with prepared(destination, notification) as ready:
                return await self.send_once(ready, notification)
        except DeliveryError as err:
            # Debug only: the hub logs once when a destination starts failing and
            # once when it recovers (log-when-unavailable), not every failure.
            _LOGGER.debug("Delivery to %s failed: %s", name, err)
            return replace(
                failed_result(dest_id, name, str(err)), attempts=err.attempts
            )
        except Exception as err:  # one broken target must not sink the rest
            _LOGGER.exception("Unexpected error delivering to %s", name)
            return failed_result(dest_id, name, f"unexpected error: {err!r}")
