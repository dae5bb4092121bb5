"""The pipeline: event → matching routes → rendered notifications → dispatch."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Mapping, Sequence
from datetime import UTC, datetime
import time
from typing import Any

from .coalesce import Coalescer
from .dispatch import Dispatcher, failed_result, new_dispatch_id, summarize
from .health import DispatchHistory
from .log import get_logger
from .models import (
    BridgeEvent,
    DeliveryContext,
    DeliveryResult,
    Destination,
    DispatchSummary,
    Notification,
    OutputFormat,
    Route,
)
from .render import Renderer, TemplateError
from .router import Router

_LOGGER = get_logger(__name__)

type DestinationResolver = Callable[[str], Destination | None]
type SummaryListener = Callable[[DispatchSummary], None]


def event_context(event: BridgeEvent) -> dict[str, Any]:
    """Return what a route template sees: the event data plus an `event` block."""
    return {
        **event.data,
        "event": {
            "type": event.event_type,
            "source": event.source_kind,
            "occurred_at": event.occurred_at.isoformat(),
            "request_id": event.request_id,
        },
    }


class Pipeline:
    """Routes, renders and dispatches; knows nothing of Home Assistant."""

    def __init__(
        self,
        resolve: DestinationResolver,
        *,
        renderer: Renderer | None = None,
        dispatcher: Dispatcher | None = None,
        history: DispatchHistory | None = None,
        create_task: Callable[[Coroutine[Any, Any, Any]], asyncio.Task[Any]]
        | None = None,
    ) -> None:
        """Wire the stages; `resolve` maps a destination id to its destination."""
        self.router = Router()
        self.renderer = renderer or Renderer()
        self.dispatcher = dispatcher or Dispatcher()
        self.history = history or DispatchHistory()
        self._resolve = resolve
        self._listeners: list[SummaryListener] = []
        if self.dispatcher.policy is not None:
            # Deliveries of what waited get summaries too (events, sensors, repairs).
            self.dispatcher.policy.on_delivered = self._report_waiting_delivered
        self.coalescer = Coalescer(self.async_dispatch_route, create_task)
        # Per source, renders run one at a time so deliveries reach each destination
        # in the order the events arrived (a render finishing early must not overtake).
        self._render_locks: dict[str, asyncio.Lock] = {}

    def add_listener(self, listener: SummaryListener) -> Callable[[], None]:
        """Call `listener` with every finished summary; returns the remover."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    async def async_handle_event(self, event: BridgeEvent) -> list[DispatchSummary]:
        """Dispatch an event to every route that matches it, one dispatch per route."""
        self.history.counters.events_received += 1
        routes = self.router.match(event)
        if routes:
            self.history.counters.events_routed += 1
        return [
            await self.async_dispatch_route(route, event)
            for route in routes
            if not self.coalescer.offer(route, event)
        ]

    async def async_dispatch_route(
        self, route: Route, event: BridgeEvent
    ) -> DispatchSummary:
        """Render a route's template for each destination format and deliver."""
        started = time.perf_counter()
        destinations, missing = self._resolve_all(route.destinations)
        context = event_context(event)
        lock = self._render_locks.setdefault(route.source_entry_id, asyncio.Lock())
        try:
            async with lock:
                rendered = await self._render_formats(
                    route, context, {dest.output_format for dest in destinations}
                )
        except TemplateError as err:
            self.history.counters.render_errors += 1
            _LOGGER.warning("Route %s: %s", route.name, err)
            failures = [
                failed_result(dest.destination_id, dest.name, str(err))
                for dest in destinations
            ]
            return self._finish(
                summarize(
                    new_dispatch_id(),
                    [*missing, *failures],
                    started_at=event.occurred_at,
                    started=started,
                    route_id=route.route_id,
                    request_id=event.request_id,
                )
            )
        suffix = (
            f"\n\n… and {event.media_overflow} more" if event.media_overflow else ""
        )
        deliveries = [
            (
                dest,
                Notification(
                    message=rendered[dest.output_format][0] + suffix,
                    title=rendered[dest.output_format][1],
                    media=event.media,
                    output_format=dest.output_format,
                ),
            )
            for dest in destinations
        ]
        summary = await self.dispatcher.async_dispatch(
            deliveries,
            route_id=route.route_id,
            request_id=event.request_id,
            failures=missing,
            context=DeliveryContext(
                route_id=route.route_id, route_name=route.name, digest=route.digest
            ),
        )
        return self._finish(summary)

    async def async_send(
        self,
        destination_ids: Sequence[str],
        build: Callable[[Destination], Notification],
        *,
        dispatch_id: str | None = None,
        respect_quiet_hours: bool = True,
    ) -> DispatchSummary:
        """Deliver caller-built notifications (the `send` action, a test button)."""
        destinations, missing = self._resolve_all(destination_ids)
        summary = await self.dispatcher.async_dispatch(
            [(dest, build(dest)) for dest in destinations],
            dispatch_id=dispatch_id,
            failures=missing,
            context=DeliveryContext(respect_quiet_hours=respect_quiet_hours),
        )
        return self._finish(summary)

    async def async_flush_waiting(
        self, destination_ids: Sequence[str] | None = None, *, force: bool = False
    ) -> int:
        """Deliver what quiet hours or an outage held back; `force` ignores both
        (the flush_deferred action). Returns how many notifications went out."""
        policy = self.dispatcher.policy
        if policy is None:
            return 0
        if destination_ids is None:
            destination_ids = policy.waiting_destinations()
        return await policy.async_flush(self._resolve, destination_ids, force=force)

    async def async_preview(
        self,
        template: str,
        context: Mapping[str, Any],
        output_format: OutputFormat,
    ) -> str:
        """Render exactly as delivery would (same environment, same escaping)."""
        return await self.renderer.async_render(template, context, output_format)

    async def _render_formats(
        self, route: Route, context: Mapping[str, Any], formats: set[OutputFormat]
    ) -> dict[OutputFormat, tuple[str, str | None]]:
        """Render the message once per format, and the title (plain text everywhere)."""
        ordered = sorted(formats)
        jobs = [(route.template, context, fmt) for fmt in ordered]
        if route.title_template:
            jobs.append((route.title_template, context, OutputFormat.PLAIN))
        texts = await self.renderer.async_render_all(jobs) if jobs else []
        title = texts[-1] if route.title_template else None
        return {fmt: (texts[index], title) for index, fmt in enumerate(ordered)}

    def _resolve_all(
        self, destination_ids: Sequence[str]
    ) -> tuple[list[Destination], list[DeliveryResult]]:
        found: list[Destination] = []
        missing: list[DeliveryResult] = []
        for dest_id in dict.fromkeys(destination_ids):
            destination = self._resolve(dest_id)
            if destination is None:
                missing.append(
                    failed_result(
                        dest_id, dest_id, "destination not found or not loaded"
                    )
                )
            else:
                found.append(destination)
        return found, missing

    def _report_waiting_delivered(self, results: list[DeliveryResult]) -> None:
        self._finish(
            summarize(
                new_dispatch_id(),
                results,
                started_at=datetime.now(UTC),
                started=time.perf_counter(),
            )
        )

    def _finish(self, summary: DispatchSummary) -> DispatchSummary:
        self.history.record(summary)
        for listener in list(self._listeners):
            listener(summary)
        return summary
