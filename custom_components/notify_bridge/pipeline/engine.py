"""The pipeline: event → matching routes → rendered notifications → dispatch."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Mapping, Sequence
from datetime import UTC, datetime
import time
from typing import TYPE_CHECKING, Any

from .coalesce import Coalescer
from .dispatch import Dispatcher, failed_result, new_dispatch_id, summarize
from .health import DispatchHistory
from .i18n import DEFAULT_LANGUAGE, destination_language, text
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

if TYPE_CHECKING:
    from .digest import DigestAccumulator

_LOGGER = get_logger(__name__)

type DestinationResolver = Callable[[str], Destination | None]
type SummaryListener = Callable[[DispatchSummary], None]


def event_context(
    event: BridgeEvent, language: str = DEFAULT_LANGUAGE
) -> dict[str, Any]:
    """Return what a route template sees: the event data, an `event` block and the
    reader's `language` (a template may branch on it)."""
    return {
        **event.data,
        "language": language,
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
        # (route, destination) pairs already warned about as missing.
        self._missing_warned: set[tuple[str, str]] = set()
        # Language of destinations that do not name one (the glue sets HA's).
        self.default_language = DEFAULT_LANGUAGE
        # Scheduled routes: their events (also) go into a digest (the glue sets it).
        self.digests: DigestAccumulator | None = None

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
        summaries: list[DispatchSummary] = []
        for route in routes:
            digests = self.digests
            if digests is not None and digests.collects(route.route_id):
                await digests.async_add(route.route_id, event)
                if digests.replaces_immediate(route.route_id):
                    continue
            if not self.coalescer.offer(route, event):
                summaries.append(await self.async_dispatch_route(route, event))
        return summaries

    async def async_dispatch_route(
        self, route: Route, event: BridgeEvent
    ) -> DispatchSummary:
        """Render a route's template for each destination format and deliver."""
        started = time.perf_counter()
        destinations, missing = self._resolve_all(route.destinations)
        self._warn_missing(route, missing)
        # What each destination reads: its format and its language.
        keys = {
            dest.destination_id: (
                dest.output_format,
                destination_language(dest, self.default_language),
            )
            for dest in destinations
        }
        lock = self._render_locks.setdefault(route.source_entry_id, asyncio.Lock())
        try:
            async with lock:
                rendered = await self._render_formats(route, event, set(keys.values()))
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
        deliveries = [
            (dest, _notification(event, rendered, keys[dest.destination_id]))
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
        self,
        route: Route,
        event: BridgeEvent,
        keys: set[tuple[OutputFormat, str]],
    ) -> dict[tuple[OutputFormat, str], tuple[str, str | None]]:
        """Render the message once per (format, language), and the title once per
        language (plain text everywhere)."""
        ordered = sorted(keys)
        languages = sorted({language for _, language in ordered})
        contexts = {language: event_context(event, language) for language in languages}
        jobs = [(route.template, contexts[lang], fmt) for fmt, lang in ordered]
        if route.title_template:
            jobs.extend(
                (route.title_template, contexts[lang], OutputFormat.PLAIN)
                for lang in languages
            )
        texts = await self.renderer.async_render_all(jobs) if jobs else []
        titles: dict[str, str | None] = dict.fromkeys(languages)
        if route.title_template:
            titles = dict(zip(languages, texts[len(ordered) :], strict=True))
        return {
            key: (texts[index], titles[key[1]]) for index, key in enumerate(ordered)
        }

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

    def _warn_missing(self, route: Route, missing: list[DeliveryResult]) -> None:
        """Say once per route and destination that a named destination is gone:
        its share of the route's notifications is not delivered anywhere."""
        for result in missing:
            key = (route.route_id, result.destination_id)
            if key not in self._missing_warned:
                self._missing_warned.add(key)
                _LOGGER.warning(
                    "Route %s: destination %s does not exist (deleted?); its "
                    "notifications are not delivered there until the route is fixed",
                    route.name,
                    result.destination_id,
                )

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


def _notification(
    event: BridgeEvent,
    rendered: Mapping[tuple[OutputFormat, str], tuple[str, str | None]],
    key: tuple[OutputFormat, str],
) -> Notification:
    """Return one destination's notification; media a message could not carry is
    counted in an "… and N more" line in the reader's language."""
    message, title = rendered[key]
    if event.media_overflow:
        message += f"\n\n{text('more', key[1], count=event.media_overflow)}"
    return Notification(
        message=message, title=title, media=event.media, output_format=key[0]
    )
