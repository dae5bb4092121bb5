"""What the webhook source kinds (gitea, planka, webhook) share.

- `WebhookState`: the replay guard (and the ids a source already reported) persisted per
  entry with `Store`, so a delivery repeated after a restart is still recognized.
- `WebhookEndpoint`: registers the entry's webhook with Home Assistant's `webhook`
  component; its handler runs the shared ingress (auth first, bounded read) and
  answers with the ingress's real status code, never letting an exception escape.
- Flow helpers (the webhook step, a route flow base) are in `webhook_flows`.
- `async_setup_webhook_source`: the setup every webhook kind runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
import logging
import secrets
from typing import Any, Final

from aiohttp import web
from homeassistant.components import webhook
from homeassistant.config_entries import (
    ConfigEntry,
    ConfigSubentry,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.network import NoURLAvailableError
from homeassistant.helpers.storage import Store

from ...const import (
    CONF_DESTINATIONS,
    CONF_TITLE_TEMPLATE,
    DOMAIN,
)
from ...pipeline.models import BridgeEvent, Route, freeze, route_policy
from ...runtime import BridgeHub, SourceRuntime
from ...sources.ingress import (
    InboundWebhook,
    IngressConfig,
    IngressResult,
    Outcome,
    async_receive,
)
from ...sources.replay import ReplayGuard

_LOGGER = logging.getLogger(__name__)

CONF_WEBHOOK_ID: Final = "webhook_id"
CONF_LOCAL_ONLY: Final = "local_only"
CONF_REGENERATE: Final = "regenerate_secret"

STORAGE_VERSION: Final = 1
# Saves that need not be acknowledged first (reported ids, poll cursor) are batched.
SAVE_DELAY: Final = 5.0
SHOW_WEBHOOK_STEP: Final = "show_webhook"

# Turns an authenticated delivery into the event to submit (None: nothing to notify).
type Parser = Callable[[InboundWebhook], BridgeEvent | None]


def new_secret() -> str:
    """Return a fresh webhook secret or bearer token."""
    return secrets.token_urlsafe(32)


@callback
def webhook_url(hass: HomeAssistant, webhook_id: str) -> str:
    """Return the full URL senders post to (the path alone if HA knows no URL)."""
    try:
        return webhook.async_generate_url(hass, webhook_id)
    except NoURLAvailableError:
        return webhook.async_generate_path(webhook_id)


# --- Persisted state --------------------------------------------------------------------


def webhook_store_key(entry_id: str) -> str:
    """Return the storage key of a webhook entry's replay and poll state."""
    return f"{DOMAIN}.webhook.{entry_id}"


class WebhookState:
    """An entry's replay guard, its reported-event ids and a poll cursor, persisted."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Create the store; call `async_load` before use."""
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, webhook_store_key(entry_id), private=True
        )
        self.replay = ReplayGuard()
        # Ids of events already notified (webhook or poll), so neither repeats the other.
        self.reported = ReplayGuard()
        self.cursor: str | None = None
        self._hass = hass
        self._batch: asyncio.Future[None] | None = None
        self._write_lock = asyncio.Lock()

    async def async_load(self) -> None:
        """Restore what a previous run persisted."""
        data = await self._store.async_load() or {}
        self.replay = ReplayGuard.from_dict(data.get("replay"))
        self.reported = ReplayGuard.from_dict(data.get("reported"))
        cursor = data.get("cursor")
        self.cursor = cursor if isinstance(cursor, str) else None

    def as_dict(self) -> dict[str, Any]:
        """Return what is persisted."""
        return {
            "replay": self.replay.as_dict(),
            "reported": self.reported.as_dict(),
            "cursor": self.cursor,
        }

    async def async_save(self) -> None:
        """Write what is in memory now; returns once it is on disk.

        Group commit: callers arriving while a write is waiting to start join it
        (their claims are already in memory and are part of what it writes), so a
        burst of deliveries costs a few writes, not one serialization each.
        """
        batch = self._batch
        if batch is None:
            batch = self._batch = self._hass.loop.create_future()
            # Retrieved even when every waiter was cancelled (no "never retrieved").
            batch.add_done_callback(lambda done: done.cancelled() or done.exception())
            self._hass.async_create_task(
                self._async_write(batch), f"{DOMAIN} save webhook state"
            )
        await asyncio.shield(batch)

    async def _async_write(self, batch: asyncio.Future[None]) -> None:
        async with self._write_lock:
            # Later callers start the next batch: this one's data is taken below.
            self._batch = None
            try:
                await self._store.async_save(self.as_dict())
            except Exception as err:  # noqa: BLE001 - handed to every waiter
                batch.set_exception(err)
            else:
                batch.set_result(None)

    @callback
    def async_schedule_save(self) -> None:
        """Write soon (and at the latest when Home Assistant stops)."""
        self._store.async_delay_save(self.as_dict, SAVE_DELAY)


# --- The endpoint -------------------------------------------------------------------------


@dataclass(slots=True)
class WebhookStats:
    """What an endpoint saw; no header or payload value is kept."""

    requests: int = 0
    accepted: int = 0
    duplicates: int = 0
    refused: int = 0
    body_bytes_read: int = 0
    last_outcome: Outcome | None = None
    last_status: int | None = None
    by_outcome: dict[str, int] = field(default_factory=dict)

    def record(self, result: IngressResult) -> None:
        """Count one request's outcome."""
        self.requests += 1
        self.body_bytes_read += result.body_bytes_read
        self.last_outcome = result.outcome
        self.last_status = result.status
        self.by_outcome[result.outcome.value] = (
            self.by_outcome.get(result.outcome.value, 0) + 1
        )
        if result.outcome is Outcome.ACCEPTED:
            self.accepted += 1
        elif result.outcome is Outcome.DUPLICATE:
            self.duplicates += 1
        else:
            self.refused += 1


class WebhookEndpoint:
    """One entry's webhook: ingress, replay guard, hand-off to the hub."""

    def __init__(
        self,
        hass: HomeAssistant,
        hub: BridgeHub,
        entry: ConfigEntry[Any],
        runtime: SourceRuntime,
        state: WebhookState,
        ingress: IngressConfig,
        parse: Parser,
    ) -> None:
        """Wire an entry's webhook; `register` makes it reachable."""
        self.hass = hass
        self.hub = hub
        self.entry = entry
        self.runtime = runtime
        self.state = state
        self.ingress = ingress
        self.parse = parse
        self.webhook_id: str = entry.data[CONF_WEBHOOK_ID]
        self.stats = WebhookStats()

    @callback
    def register(self) -> None:
        """Register with HA's webhook component until the entry unloads."""
        webhook.async_register(
            self.hass,
            DOMAIN,
            self.entry.title,
            self.webhook_id,
            self.async_handle,
            local_only=bool(self.entry.data.get(CONF_LOCAL_ONLY, False)),
            allowed_methods=["POST"],
        )
        self.entry.async_on_unload(
            partial(webhook.async_unregister, self.hass, self.webhook_id)
        )

    async def async_handle(
        self, hass: HomeAssistant, webhook_id: str, request: web.Request
    ) -> web.Response:
        """Answer one request with the ingress's status; never raises."""
        try:
            result = await async_receive(
                request,
                self.ingress,
                self._async_handoff,
                replay_guard=self.state.replay,
            )
            self.stats.record(result)
            return result.to_response()
        except Exception:
            # HA's webhook layer would answer 200; the sender must see the failure.
            _LOGGER.exception("Webhook of %s failed", self.entry.title)
            return web.json_response({"outcome": Outcome.ERROR.value}, status=500)

    async def _async_handoff(self, inbound: InboundWebhook) -> None:
        """Parse, persist the replay guard, then submit (before the ack)."""
        event = self.parse(inbound)
        if inbound.replay_keys:
            # A repeat after a restart must still be recognized: the claim is on disk
            # before the sender hears that the delivery was accepted.
            await self.state.async_save()
        if event is not None:
            self.hub.async_submit_event(self.entry, self.runtime, event)


# --- Setup --------------------------------------------------------------------------------


type RouteBuilder = Callable[[str, ConfigSubentry], Iterable[Route]]


@dataclass(slots=True, kw_only=True)
class WebhookSourceRuntime(SourceRuntime):
    """Runtime data of a webhook source entry: its persisted state and endpoint."""

    state: WebhookState = field(repr=False)
    # Not in the repr: its ingress config holds the secret. Set once registered.
    endpoint: WebhookEndpoint | None = field(default=None, repr=False)


type WebhookSourceConfigEntry = ConfigEntry[WebhookSourceRuntime]


async def async_setup_webhook_source[R: WebhookSourceRuntime](
    hass: HomeAssistant,
    hub: BridgeHub,
    entry: ConfigEntry[R],
    *,
    ingress: IngressConfig,
    build_routes: RouteBuilder,
    parse: Callable[[WebhookState, InboundWebhook], BridgeEvent | None],
    runtime_type: type[R],
) -> R:
    """Load state, give the routes to the hub and register the webhook."""
    expanded: list[Route] = []
    for subentry in entry.subentries.values():
        expanded.extend(build_routes(entry.entry_id, subentry))
    state = WebhookState(hass, entry.entry_id)
    await state.async_load()
    # One route per subentry for the runtime view; the router gets every expansion.
    runtime = runtime_type(
        routes=tuple({route.route_id: route for route in expanded}.values()),
        state=state,
    )
    hub.set_routes(entry, tuple(expanded))
    # Unloading (or reloading) writes what is still waiting for a delayed save, so the
    # next setup starts from it.
    entry.async_on_unload(state.async_save)
    runtime.endpoint = WebhookEndpoint(
        hass, hub, entry, runtime, state, ingress, partial(parse, state)
    )
    runtime.endpoint.register()
    return runtime


def route_variants(
    subentry: ConfigSubentry,
    source_entry_id: str,
    variants: Iterable[tuple[frozenset[str], Mapping[str, Any], str]],
) -> list[Route]:
    """Return a subentry's routes, one per (event types, match, template) variant.

    Variants must be disjoint (different values of one key, or disjoint event
    types), so one event matches at most one of them and is dispatched once.
    """
    data = subentry.data
    return [
        Route(
            route_id=subentry.subentry_id,
            name=subentry.title,
            source_entry_id=source_entry_id,
            event_types=event_types,
            match=freeze(match),
            destinations=tuple(data.get(CONF_DESTINATIONS, ())),
            template=template,
            title_template=data.get(CONF_TITLE_TEMPLATE) or None,
            **route_policy(data),
        )
        for event_types, match, template in variants
    ]


def value_variants(key: str, values: Iterable[str]) -> list[dict[str, str]]:
    """Return one match per value (or a single empty match for "any")."""
    unique = list(dict.fromkeys(values))
    return [{key: value} for value in unique] or [{}]


# --- Flows ----------------------------------------------------------------------------


def clean_list(values: Any) -> list[str]:
    """Return the non-empty stripped strings of a multiple text field, deduplicated."""
    if isinstance(values, str):
        values = [values]
    return list(dict.fromkeys(str(v).strip() for v in values or () if str(v).strip()))
