"""The integration-wide hub: one pipeline, the destinations of every target entry."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import partial
import logging
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import EVENT_CORE_CONFIG_UPDATE, Platform
from homeassistant.core import CALLBACK_TYPE, Context, Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .catalog import KINDS
from .const import (
    ATTR_DISPATCH_ID,
    ATTR_STATUS,
    ATTR_SUMMARY,
    CONF_KIND,
    CONF_MAX_PENDING,
    CONF_QUIET_END,
    CONF_QUIET_MODE,
    CONF_QUIET_START,
    CONF_QUIET_WEEKDAYS,
    DESTINATION_ISSUES,
    DOMAIN,
    EVENT_BRIDGE_EVENT,
    EVENT_DISPATCHED,
    ISSUE_BACKLOG,
    ISSUE_DESTINATION_FAILING,
    ISSUE_QUIET_HOURS_EMPTY,
    SIGNAL_DESTINATION_UPDATED,
    SIGNAL_ROUTE_EVENT,
    SIGNAL_SOURCE_EVENT,
    SIGNAL_SOURCE_UPDATED,
    WEEKDAYS,
    issue_id,
)
from .debug_window import DebugWindow
from .kinds.shared.digests import DigestScheduler
from .lost_destinations import LostDestinations
from .pipeline.dispatch import Dispatcher
from .pipeline.engine import Pipeline
from .pipeline.limits import BACKLOG_REPAIR_THRESHOLD, OUTBOX_MAX_RETRY_DELAY
from .pipeline.models import (
    BridgeEvent,
    DeliveryError,
    DeliveryResult,
    Destination,
    DispatchSummary,
    Notification,
    OutputFormat,
    Route,
)
from .pipeline.policy import DeliveryPolicy, QuietHours, QuietMode
from .runtime import (
    DestinationRuntime,
    SourceRuntime,
    TargetRuntime,
    set_issue,
)

_LOGGER = logging.getLogger(__name__)
WAITING_STORE_KEY = f"{DOMAIN}.waiting"
WAITING_STORE_VERSION = 1
# How often destinations with waiting notifications are looked at (quiet hours
# ending, outbox retries due).
WAITING_CHECK_INTERVAL = timedelta(seconds=30)
# Delivery contexts remembered to recognize the events our own deliveries cause.
DELIVERY_CONTEXTS_KEPT = 1024
# Dispatches whose message ids are kept for the edit and delete actions.
SENT_DISPATCHES_KEPT = 256
# Consecutive failed deliveries after which a destination gets a repair issue.
FAILING_REPAIR_THRESHOLD = 3


def quiet_hours_from_options(options: Mapping[str, Any]) -> QuietHours | None:
    """Return a destination's quiet hours; ValueError when start equals end."""
    start, end = options.get(CONF_QUIET_START), options.get(CONF_QUIET_END)
    if not start or not end:
        return None
    return QuietHours(
        start=time.fromisoformat(start),
        end=time.fromisoformat(end),
        mode=QuietMode(options.get(CONF_QUIET_MODE, QuietMode.DEFER)),
        weekdays=frozenset(
            WEEKDAYS.index(day) for day in options.get(CONF_QUIET_WEEKDAYS) or ()
        ),
    )


@dataclass(frozen=True, slots=True)
class NotLoadedDestination:
    """Stands in for a destination whose entry is not loaded: deliveries wait in
    the outbox until it is (registering the real one makes them due at once)."""

    destination_id: str
    name: str
    output_format: OutputFormat

    async def async_deliver(self, notification: Notification) -> DeliveryResult:
        """Refuse for now; the policy keeps the notification, in order."""
        raise DeliveryError(
            "its target is not loaded yet; kept for delivery",
            retry_after=OUTBOX_MAX_RETRY_DELAY,
        )


def _log_failing_transition(
    runtime: DestinationRuntime, result: DeliveryResult
) -> None:
    """Log once when a destination starts failing and once when it delivers again
    (log-when-unavailable); each failed attempt in between is a debug line only."""
    name = runtime.destination.name
    if result.success and runtime.consecutive_failures:
        _LOGGER.info(
            "Delivery to %s works again after %d failure(s)",
            name,
            runtime.consecutive_failures,
        )
    elif not result.success and not runtime.consecutive_failures:
        _LOGGER.warning(
            "Delivery to %s failed (%s); further failures are not logged until it"
            " delivers again",
            name,
            "; ".join(result.errors) or "unknown error",
        )


class NotifyBridgeHub:
    """Owns the pipeline and knows every loaded destination."""

    def __init__(self, hass: HomeAssistant) -> None:
        """Create the pipeline; destinations register as their entries load."""
        self.hass = hass
        self.destinations: dict[str, DestinationRuntime] = {}
        # Ids of the contexts our deliveries ran under (bounded, newest kept).
        self._delivery_contexts: dict[str, None] = {}
        # Consecutive failed polls per source entry; outlives the entry's setup, so
        # a server down at start-up (setup retried afresh each time) still counts.
        self._poll_failures: dict[str, int] = {}
        # dispatch id → destination id → message ids (bounded, newest kept).
        self._sent: dict[str, dict[str, tuple[int, ...]]] = {}
        # Target entries that cannot deliver at all (token refused), by entry id,
        # with their title: kept across the reload that fixes them, to log recovery.
        self._cannot_deliver: dict[str, str] = {}
        self._store: Store[dict[str, Any]] = Store(
            hass, WAITING_STORE_VERSION, WAITING_STORE_KEY
        )
        self.policy = DeliveryPolicy(clock=dt_util.now, save=self._store.async_save)
        self.policy.on_backlog_changed = self._on_backlog_changed
        self.pipeline = Pipeline(
            self.resolve_destination,
            dispatcher=Dispatcher(policy=self.policy),
            # Tracked by Home Assistant, which waits for them when it stops.
            create_task=partial(
                hass.async_create_task, name=f"{DOMAIN} coalesced", eager_start=True
            ),
        )
        self.pipeline.add_listener(self._on_summary)
        self.digests = DigestScheduler(hass, self.pipeline)
        # Destinations without a language of their own read Home Assistant's,
        # also after it is changed (the hub lives as long as Home Assistant runs).
        self._follow_language()
        hass.bus.async_listen(EVENT_CORE_CONFIG_UPDATE, self._follow_language)
        # DEBUG for an area, for a bounded time (the `debug` action).
        self.debug_window = DebugWindow(hass)
        self.lost = LostDestinations(hass, self.resolve_destination)

    @callback
    def _follow_language(self, _event: Event | None = None) -> None:
        self.pipeline.default_language = self.hass.config.language
        self.policy.default_language = self.hass.config.language

    async def async_load(self) -> None:
        """Load what waited (quiet hours, outbox, digests) before the last stop."""
        self.policy.restore(await self._store.async_load())
        await self.digests.async_load()

    @callback
    def register_destination(
        self, runtime: DestinationRuntime, options: Mapping[str, Any] | None = None
    ) -> CALLBACK_TYPE:
        """Make a destination reachable with its policy options; returns the remover."""
        destination = runtime.destination
        dest_id = destination.destination_id
        self.destinations[dest_id] = runtime
        if (title := self._cannot_deliver.pop(runtime.entry_id, None)) is not None:
            _LOGGER.info("%s can deliver again", title)
        try:
            quiet = quiet_hours_from_options(options or {})
        except ValueError:
            # Stored before validation existed or edited by hand: say so, never a no-op.
            quiet, empty = None, True
        else:
            empty = False
        set_issue(
            self.hass,
            issue_id(ISSUE_QUIET_HOURS_EMPTY, dest_id),
            active=empty,
            translation_key=ISSUE_QUIET_HOURS_EMPTY,
            placeholders={"destination": destination.name},
        )
        self.policy.set_quiet_hours(dest_id, quiet)
        # What waited while it was not loaded is due now.
        self.policy.make_due(dest_id)
        max_pending = (options or {}).get(CONF_MAX_PENDING)
        self.policy.set_max_pending(
            dest_id, None if max_pending is None else int(max_pending)
        )

        @callback
        def unregister() -> None:
            self.destinations.pop(dest_id, None)
            self.policy.set_quiet_hours(dest_id, None)
            self.policy.set_max_pending(dest_id, None)

        return unregister

    @callback
    def set_cannot_deliver(self, entry: ConfigEntry[Any], reason: str) -> None:
        """A target that cannot deliver at all (its token was refused): its
        destination entities are unavailable until the entry is set up again.

        Logged once, however many sends notice it; the recovery is logged once when
        the entry registers its destinations again.
        """
        runtimes = [
            runtime
            for runtime in self.destinations.values()
            if runtime.entry_id == entry.entry_id and runtime.cannot_deliver is None
        ]
        for runtime in runtimes:
            runtime.cannot_deliver = reason
            async_dispatcher_send(
                self.hass,
                SIGNAL_DESTINATION_UPDATED.format(runtime.destination.destination_id),
            )
        if runtimes and entry.entry_id not in self._cannot_deliver:
            self._cannot_deliver[entry.entry_id] = entry.title
            _LOGGER.warning(
                "%s cannot deliver (%s); its destinations are unavailable until it"
                " is set up again",
                entry.title,
                reason,
            )

    async def async_forget_removed_destinations(self) -> None:
        """Drop the waiting notifications and repair issues of destinations whose
        subentry no longer exists (a reload keeps them; a removal does not)."""
        existing = {
            subentry_id
            for entry in self.hass.config_entries.async_entries(DOMAIN)
            for subentry_id in entry.subentries
        }
        for dest_id in self.policy.known_destinations() - existing:
            await self.policy.async_forget(dest_id)
            for prefix in DESTINATION_ISSUES:
                ir.async_delete_issue(self.hass, DOMAIN, issue_id(prefix, dest_id))
        # A route may still name a destination just removed: say so (Repairs).
        self.lost.async_check()

    def lost_destinations(self, route_id: str) -> tuple[str, ...]:
        """Return the destinations a route names that no longer exist."""
        return self.lost.of_route(route_id)

    @callback
    def new_delivery_context(self) -> Context:
        """Return a context for a delivery's service call, remembered as ours."""
        context = Context()
        self._delivery_contexts[context.id] = None
        if len(self._delivery_contexts) > DELIVERY_CONTEXTS_KEPT:
            del self._delivery_contexts[next(iter(self._delivery_contexts))]
        return context

    @callback
    def caused_by_delivery(self, context: Context) -> bool:
        """Return whether an event comes from one of our deliveries."""
        return (
            context.id in self._delivery_contexts
            or context.parent_id in self._delivery_contexts
        )

    def sent_messages(self, dispatch_id: str) -> Mapping[str, tuple[int, ...]] | None:
        """Return the message ids per destination of a recent dispatch."""
        return self._sent.get(dispatch_id)

    @callback
    def _remember_sent(self, summary: DispatchSummary) -> None:
        sent = {
            r.destination_id: r.message_ids for r in summary.results if r.message_ids
        }
        if not sent:
            return
        self._sent[summary.dispatch_id] = sent
        if len(self._sent) > SENT_DISPATCHES_KEPT:
            del self._sent[next(iter(self._sent))]

    def poll_failures(self, entry_id: str) -> int:
        """Return the consecutive failed polls of a source entry."""
        return self._poll_failures.get(entry_id, 0)

    def set_poll_failures(self, entry_id: str, count: int) -> None:
        """Record the consecutive failed polls of a source entry (0 forgets)."""
        if count:
            self._poll_failures[entry_id] = count
        else:
            self._poll_failures.pop(entry_id, None)

    @callback
    def track_waiting(self, entry: ConfigEntry[Any], runtime: TargetRuntime) -> None:
        """Deliver a target's waiting notifications when they are due, from now on."""
        dest_ids = list(runtime.destinations)
        running: set[asyncio.Task[int]] = set()

        @callback
        def check(_now: datetime | None = None) -> None:
            # One flush at a time per entry: a long outage retry is not stacked.
            if running or not any(self.policy.backlog(d) for d in dest_ids):
                return
            # Tracked (not background): an unload waits for it instead of
            # cancelling a send half-way, which could deliver it twice.
            task = entry.async_create_task(
                self.hass,
                self.pipeline.async_flush_waiting(dest_ids),
                f"{DOMAIN} waiting notifications",
            )
            running.add(task)
            task.add_done_callback(running.discard)

        check()
        entry.async_on_unload(
            async_track_time_interval(self.hass, check, WAITING_CHECK_INTERVAL)
        )

    @callback
    def _update_failing_issue(self, runtime: DestinationRuntime) -> None:
        """Raise a repair issue while a destination keeps failing; clear on success."""
        destination = runtime.destination
        errors = runtime.last_result.errors if runtime.last_result else ()
        # The kind's advice for the error at hand has its own words (what to do).
        advice = self._failure_advice(runtime, errors[0]) if errors else None
        set_issue(
            self.hass,
            issue_id(ISSUE_DESTINATION_FAILING, destination.destination_id),
            active=runtime.consecutive_failures >= FAILING_REPAIR_THRESHOLD,
            translation_key=(
                f"{ISSUE_DESTINATION_FAILING}_{advice}"
                if advice
                else ISSUE_DESTINATION_FAILING
            ),
            placeholders={
                "destination": destination.name,
                "count": str(runtime.consecutive_failures),
                "error": errors[0] if errors else "unknown",
            },
            severity=ir.IssueSeverity.ERROR,
        )

    def _failure_advice(self, runtime: DestinationRuntime, error: str) -> str | None:
        entry = self.hass.config_entries.async_get_entry(runtime.entry_id)
        if entry is None or entry.data.get(CONF_KIND) not in KINDS:
            return None
        return KINDS[entry.data[CONF_KIND]].failure_advice(error)

    @callback
    def _on_backlog_changed(self, dest_id: str) -> None:
        """Refresh the backlog sensor; raise or clear the backlog repair issue."""
        async_dispatcher_send(self.hass, SIGNAL_DESTINATION_UPDATED.format(dest_id))
        runtime = self.destinations.get(dest_id)
        set_issue(
            self.hass,
            issue_id(ISSUE_BACKLOG, dest_id),
            active=self.policy.backlog(dest_id) > BACKLOG_REPAIR_THRESHOLD,
            translation_key="backlog_high",
            placeholders={
                "destination": dest_id if runtime is None else runtime.destination.name,
                "threshold": str(BACKLOG_REPAIR_THRESHOLD),
            },
        )

    @callback
    def resolve_destination(self, key: str) -> Destination | None:
        """Return the destination behind a notify entity id (or a destination id).

        A destination whose target entry is not loaded (starting, retrying, being
        reloaded) resolves to a stand-in whose deliveries wait in the outbox.
        """
        dest_id = key
        if key not in self.destinations:
            entry = er.async_get(self.hass).async_get(key)
            if entry is None or entry.platform != DOMAIN:
                return self._not_loaded(key)
            dest_id = entry.unique_id
        runtime = self.destinations.get(dest_id)
        return self._not_loaded(dest_id) if runtime is None else runtime.destination

    @callback
    def _not_loaded(self, dest_id: str) -> Destination | None:
        for entry in self.hass.config_entries.async_entries(DOMAIN):
            subentry = entry.subentries.get(dest_id)
            if subentry is not None and entry.disabled_by is None:
                kind = KINDS[entry.data[CONF_KIND]]
                return NotLoadedDestination(
                    dest_id, subentry.title, kind.output_format(subentry.data)
                )
        return None

    @callback
    def is_destination_entity(self, entity_id: str) -> bool:
        """Return whether an entity id is one of this integration's notify entities."""
        entry = er.async_get(self.hass).async_get(entity_id)
        return (
            entry is not None
            and entry.platform == DOMAIN
            and entry.domain == Platform.NOTIFY
        )

    @callback
    def set_routes(self, entry: ConfigEntry[Any], routes: tuple[Route, ...]) -> None:
        """Give a source entry's routes to the router until the entry unloads."""
        router = self.pipeline.router
        router.set_routes(entry.entry_id, routes)
        entry.async_on_unload(lambda: router.remove_source(entry.entry_id))
        self.lost.async_check()
        # Windows still coalescing are delivered now rather than lost.
        entry.async_on_unload(
            partial(self.pipeline.coalescer.async_release, entry.entry_id)
        )

    @callback
    def async_submit_event(
        self, entry: ConfigEntry[Any], runtime: SourceRuntime, event: BridgeEvent
    ) -> None:
        """Hand a source event to the pipeline when a route wants it."""
        routes = self.pipeline.router.match(event)
        if not routes:
            return
        runtime.events += 1
        runtime.last_event = event
        self.hass.bus.async_fire(
            EVENT_BRIDGE_EVENT,
            {
                "source_entry_id": event.source_entry_id,
                "source": event.source_kind,
                "event_type": event.event_type,
                "request_id": event.request_id,
                "routes": [route.route_id for route in routes],
            },
        )
        async_dispatcher_send(self.hass, SIGNAL_SOURCE_UPDATED.format(entry.entry_id))
        async_dispatcher_send(
            self.hass, SIGNAL_SOURCE_EVENT.format(entry.entry_id), event
        )
        for route_id in dict.fromkeys(route.route_id for route in routes):
            async_dispatcher_send(self.hass, SIGNAL_ROUTE_EVENT.format(route_id), event)
        # Kept by the entry until done; unloading waits for it, so nothing in flight
        # is lost.
        entry.async_create_task(
            self.hass,
            self.pipeline.async_handle_event(event),
            f"{DOMAIN} event {event.event_type}",
        )

    @callback
    def _on_summary(self, summary: DispatchSummary) -> None:
        """Update destination stats and tell the bus; runs on the event loop only."""
        now = dt_util.utcnow()
        self._remember_sent(summary)
        for result in summary.results:
            runtime = self.destinations.get(result.destination_id)
            if runtime is None:
                continue
            runtime.last_result = result
            if result.deferred or (result.queued and not result.attempts):
                # Held by quiet hours, or queued behind older notifications without
                # an attempt of its own: nothing was delivered, nothing new failed.
                continue
            _log_failing_transition(runtime, result)
            if result.success:
                runtime.last_delivery = now
                runtime.consecutive_failures = 0
            else:
                runtime.failed_deliveries += 1
                runtime.consecutive_failures += 1
            self._update_failing_issue(runtime)
            async_dispatcher_send(
                self.hass, SIGNAL_DESTINATION_UPDATED.format(result.destination_id)
            )
        self.hass.bus.async_fire(
            EVENT_DISPATCHED,
            {
                ATTR_DISPATCH_ID: summary.dispatch_id,
                ATTR_STATUS: summary.status.value,
                ATTR_SUMMARY: summary.as_dict(),
            },
        )
