"""The leaf of the Home Assistant side: runtime data, the typed entry, `Kind`.

Everything above `pipeline/`, `sources/` and `targets/` (which never import Home
Assistant) imports from here; this module imports none of the glue. Kinds
(`kinds/<kind>/`) build on it, the shared glue (`__init__`, hub, platforms, actions,
diagnostics, repairs) reaches kind-specific behaviour only through the hooks of
`Kind`, so adding a kind touches its own package and `catalog.py`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.const import Platform
from homeassistant.core import CALLBACK_TYPE, Context, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.util.hass_dict import HassKey

from .const import DOMAIN, EntryKind
from .pipeline.digest import Digest
from .pipeline.models import (
    BridgeEvent,
    DeliveryResult,
    Destination,
    DispatchSummary,
    MediaItem,
    MediaType,
    OutputFormat,
    Route,
)

if TYPE_CHECKING:
    from homeassistant.components.repairs import RepairsFlow
    from homeassistant.config_entries import (
        ConfigFlow,
        ConfigFlowResult,
        ConfigSubentryFlow,
        OptionsFlow,
    )
    from homeassistant.helpers.entity import Entity

    from .pipeline.engine import Pipeline
    from .pipeline.policy import DeliveryPolicy


# --- runtime data ---------------------------------------------------------------------


@dataclass(slots=True)
class DestinationRuntime:
    """A destination and the delivery stats its entities show."""

    # Not in the repr: a destination holds its client (a bot knows its token).
    destination: Destination = field(repr=False)
    entry_id: str
    failed_deliveries: int = 0
    consecutive_failures: int = 0
    last_delivery: datetime | None = None
    last_result: DeliveryResult | None = None
    # Why the target cannot deliver at all (its token was refused), or None: the
    # destination's entities are unavailable meanwhile.
    cannot_deliver: str | None = None


@dataclass(slots=True, kw_only=True)
class EntryRuntime:
    """What every entry's runtime data has; each kind subclasses a role below."""

    # The entry's device (the glue creates it); destination and route devices
    # link to it with `via_device_id`.
    device_id: str = ""


@dataclass(slots=True, kw_only=True)
class TargetRuntime(EntryRuntime):
    """Runtime data of a target entry: its destinations by subentry id."""

    destinations: dict[str, DestinationRuntime] = field(default_factory=dict)

    def diagnostics(self, backlog: Callable[[str], int]) -> dict[str, Any]:
        """Return the destinations' state (no secrets)."""
        return {
            "destinations": {
                dest_id: {
                    "name": dest.destination.name,
                    "format": dest.destination.output_format.value,
                    "backlog": backlog(dest_id),
                    "failed_deliveries": dest.failed_deliveries,
                    "last_delivery": dest.last_delivery,
                    "last_result": dest.last_result and dest.last_result.as_dict(),
                }
                for dest_id, dest in self.destinations.items()
            }
        }


@dataclass(slots=True, kw_only=True)
class SourceRuntime(EntryRuntime):
    """Runtime data of a source entry."""

    routes: tuple[Route, ...] = ()
    events: int = 0
    last_event: BridgeEvent | None = None
    # None: the source has no connection that can fail (no `problem` binary sensor).
    # A kind that has one sets it and sends SIGNAL_SOURCE_UPDATED when it changes.
    problem: bool | None = None

    def diagnostics(self, backlog: Callable[[str], int]) -> dict[str, Any]:
        """Return the routes and what was routed (no event data)."""
        event = self.last_event
        return {
            "routes": [route.route_id for route in self.routes],
            "events": self.events,
            "last_event": None
            if event is None
            else {"event_type": event.event_type, "occurred_at": event.occurred_at},
        }


type NotifyBridgeConfigEntry = ConfigEntry[TargetRuntime | SourceRuntime]
type TargetConfigEntry = ConfigEntry[TargetRuntime]
type SourceConfigEntry = ConfigEntry[SourceRuntime]


# --- what kinds see of the hub --------------------------------------------------------


class Poller(Protocol):
    """What the `refresh` action uses of a kind's coordinator; unlike a bare
    DataUpdateCoordinator, it always has its config entry."""

    @property
    def config_entry(self) -> ConfigEntry[Any]:
        """The entry that polls."""

    @property
    def last_update_success(self) -> bool:
        """Whether the last poll worked."""

    @property
    def last_exception(self) -> Exception | None:
        """Why the last poll failed (None when it worked)."""

    async def async_refresh(self) -> None:
        """Poll now."""


# The media of a scheduled digest of an entry's route: (entry, digest, limit) → items.
type DigestMedia = Callable[[Any, Digest, int], Awaitable[tuple[MediaItem, ...]]]


class DigestControl(Protocol):
    """The scheduled digests (kinds/shared/digests.py) as entities and actions see
    them."""

    def scheduled(self, route_id: str) -> bool:
        """Return whether a loaded route has a schedule."""

    async def async_setup_entry(
        self, entry: ConfigEntry[Any], media: DigestMedia | None = None
    ) -> None:
        """Configure an entry's scheduled routes until it unloads."""

    def start_entry(self, entry: ConfigEntry[Any]) -> None:
        """Time an entry's scheduled routes once it is set up."""

    async def async_forget_entry(self, entry: ConfigEntry[Any]) -> None:
        """Drop the stored digests of a removed entry's routes."""

    async def async_send_now(
        self, route_id: str, *, respect_quiet_hours: bool = True
    ) -> list[DispatchSummary]:
        """Send a route's digest now; one summary per destination (none if empty)."""


class DebugSwitch(Protocol):
    """The debug window (debug_window.DebugWindow) as the shared glue uses it."""

    @property
    def areas(self) -> list[str]:
        """The areas at DEBUG now."""

    def start(self, area: str, duration: timedelta) -> datetime:
        """Turn an area to DEBUG until now + duration; returns the end."""

    def stop(self) -> None:
        """Restore every logger's level and remove the notice."""


class BridgeHub(Protocol):
    """The integration-wide hub (hub.py) as kinds and entities use it."""

    @property
    def digests(self) -> DigestControl:
        """The scheduled digests of every route."""

    @property
    def pipeline(self) -> Pipeline:
        """The one pipeline: router, coalescer, dispatcher."""

    @property
    def policy(self) -> DeliveryPolicy:
        """Quiet hours, outbox and backlog of every destination."""

    @property
    def destinations(self) -> dict[str, DestinationRuntime]:
        """The loaded destinations by destination id."""

    def sent_messages(self, dispatch_id: str) -> Mapping[str, tuple[int, ...]] | None:
        """Message ids per destination a recent dispatch sent (None: not known)."""

    @property
    def debug_window(self) -> DebugSwitch:
        """DEBUG logging for an area, for a bounded time."""

    def register_destination(
        self, runtime: DestinationRuntime, options: Mapping[str, Any] | None = None
    ) -> CALLBACK_TYPE:
        """Make a destination reachable; returns the remover."""

    def set_cannot_deliver(self, entry: ConfigEntry[Any], reason: str) -> None:
        """Mark a target's destinations unavailable (token refused); logged once."""

    async def async_forget_removed_destinations(self) -> None:
        """Drop what waits for destinations whose subentry is gone."""

    def track_waiting(self, entry: ConfigEntry[Any], runtime: TargetRuntime) -> None:
        """Deliver a target's waiting notifications when they are due."""

    def new_delivery_context(self) -> Context:
        """Return a context for a delivery's service call, remembered as ours."""

    def caused_by_delivery(self, context: Context) -> bool:
        """Return whether an event comes from one of our deliveries."""

    def set_routes(self, entry: ConfigEntry[Any], routes: tuple[Route, ...]) -> None:
        """Give a source entry's routes to the router until the entry unloads."""

    def async_submit_event(
        self, entry: ConfigEntry[Any], runtime: SourceRuntime, event: BridgeEvent
    ) -> None:
        """Hand a source event to the pipeline when a route wants it."""

    def resolve_destination(self, key: str) -> Destination | None:
        """Return the destination behind a notify entity id (or a destination id)."""

    @property
    def lost(self) -> Any:
        """Routes naming deleted destinations (`lost_destinations.LostDestinations`)."""

    def lost_destinations(self, route_id: str) -> tuple[str, ...]:
        """Destinations a route names that no longer exist (a repair issue says so)."""

    def is_destination_entity(self, entity_id: str) -> bool:
        """Return whether an entity id is one of this integration's notify entities."""

    def poll_failures(self, entry_id: str) -> int:
        """Consecutive failed polls of a source (kept across setup retries)."""

    def set_poll_failures(self, entry_id: str, count: int) -> None:
        """Record consecutive failed polls of a source (0 forgets)."""


DATA_HUB: HassKey[BridgeHub] = HassKey(DOMAIN)


@callback
def set_issue(
    hass: HomeAssistant,
    issue_id: str,
    *,
    active: bool,
    translation_key: str,
    placeholders: dict[str, str] | None = None,
    severity: ir.IssueSeverity = ir.IssueSeverity.WARNING,
) -> None:
    """Raise a repair issue while a condition holds; clear it once it ends."""
    if not active:
        ir.async_delete_issue(hass, DOMAIN, issue_id)
        return
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id,
        is_fixable=False,
        severity=severity,
        translation_key=translation_key,
        translation_placeholders=placeholders,
    )


# --- Kind -----------------------------------------------------------------------------

type KindSetup = Callable[
    [HomeAssistant, BridgeHub, Any], Awaitable[TargetRuntime | SourceRuntime]
]
# A config-flow step of a kind, called with the integration's flow.
type EntryStep = Callable[[Any, dict[str, Any] | None], Awaitable[ConfigFlowResult]]
# The entities of an entry on one platform: (subentry id or None, entity) pairs.
type EntityFactory = Callable[[Any], Iterable[tuple[str | None, Entity]]]
# Fetches the media named by one `send` action field; None when no entry has it.
type MediaFetch = Callable[
    [HomeAssistant, list[Any], str, MediaType], Awaitable[MediaItem]
]


# Edits (new text) or deletes (None) the messages a dispatch sent, given as message
# ids per destination of the entry; returns one outcome dict per message.
type MessageAction = Callable[
    [Any, Mapping[str, tuple[int, ...]], str | None], Awaitable[list[dict[str, Any]]]
]


@dataclass(frozen=True, slots=True)
class EntrySteps:
    """The entry flow of a kind, as a table (HA's standard step ids)."""

    # The step the menu option opens; its step id is the kind's value.
    create: EntryStep
    reconfigure: EntryStep | None = None
    reauth_confirm: EntryStep | None = None
    # A kind-owned mixin with the steps' helpers (forms, checks).
    flow: type[ConfigFlow] | None = None


@dataclass(frozen=True, slots=True)
class MediaField:
    """A `send` action media field a kind resolves (e.g. `immich_asset_id`)."""

    validate: Callable[[Any], str]
    fetch: MediaFetch


@dataclass(frozen=True, slots=True)
class RoutePreview:
    """How a source kind previews a route before and after it is saved: the pipeline
    routes of a route subentry and a sample event of one of the kind's event types."""

    # (source entry id, route subentry) -> the routes the router would get.
    routes: Callable[[str, ConfigSubentry], Iterable[Route]]
    # (source entry id, event type) -> an event as the kind's parser would make it.
    sample_event: Callable[[str, str], BridgeEvent]


@dataclass(frozen=True, slots=True)
class Kind:
    """One entry kind: its flows, setup, entities and hooks for the shared glue."""

    kind: EntryKind
    # The service behind the entry, shown as the manufacturer of its device.
    manufacturer: str
    setup: KindSetup
    entry_steps: EntrySteps
    # The one subentry type of the kind (its own words in strings.json).
    subentry_type: str
    subentry_flow: type[ConfigSubentryFlow]
    # Entities by platform; the platforms forwarded are exactly these keys.
    entities: Mapping[Platform, EntityFactory]
    # Storage keys an entry leaves behind; removed with the entry.
    store_keys: Callable[[ConfigEntry], Iterable[str]] = lambda _entry: ()
    # How a destination of this (target) kind displays text, from its options; used
    # to render for a destination whose entry is not loaded yet.
    output_format: Callable[[Mapping[str, Any]], OutputFormat] = lambda _options: (
        OutputFormat.PLAIN
    )
    # Hooks of the shared glue. Diagnostics beyond the runtime's own:
    diagnostics: Callable[[Any], Mapping[str, Any]] = lambda _entry: {}
    # Repair flows by issue id prefix (the issue's data says what to fix).
    fix_flows: Mapping[str, Callable[[dict[str, Any]], RepairsFlow]] = field(
        default_factory=dict
    )
    # Media fields of the `send` action this kind resolves.
    media_fields: Mapping[str, MediaField] = field(default_factory=dict)
    # The poller of an entry (None from it: that entry does not poll), behind the
    # `refresh` action and the "Refresh now" button; None: the kind never polls.
    poller: Callable[[Any], Poller | None] | None = None
    # The media of a scheduled route's digest (None: the references the events had).
    digest_media: DigestMedia | None = None
    # The entry's options flow (None: the kind has no options).
    options_flow: type[OptionsFlow] | None = None
    # Edit and delete sent messages (the `edit`/`delete` actions); None: cannot.
    message_action: MessageAction | None = None
    # Sources: how `preview_template` renders a stored route against a sample event.
    route_preview: RoutePreview | None = None
    # Targets: the advice key for a delivery error ("bot was blocked" → unblock it);
    # the "keeps failing" repair issue then says what to do for that error.
    failure_advice: Callable[[str], str | None] = lambda _error: None

    @property
    def platforms(self) -> tuple[Platform, ...]:
        """Return the platforms an entry of this kind has entities on (a kind
        that polls has its refresh button)."""
        platforms = tuple(self.entities)
        if self.poller is not None and Platform.BUTTON not in platforms:
            platforms += (Platform.BUTTON,)
        return platforms
