"""The Immich source: entry and route flows, setup, the per-route asset count sensor."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
import logging
from typing import Any

from homeassistant.components.sensor import SensorEntity, SensorStateClass
from homeassistant.config_entries import (
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
    SubentryFlowResult,
)
from homeassistant.const import (
    CONF_API_KEY,
    CONF_NAME,
    CONF_URL,
    CONF_VERIFY_SSL,
    Platform,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.selector import (
    BooleanSelector,
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
from homeassistant.helpers.storage import Store
from homeassistant.helpers.update_coordinator import CoordinatorEntity
from homeassistant.util import dt as dt_util
import voluptuous as vol
from yarl import URL

from ..const import CONF_KIND, DOMAIN, SIGNAL_SOURCE_UPDATED, SUBENTRY_ROUTE, EntryKind
from ..flows import async_update_and_finish, route_policy_fields
from ..hub import NotifyBridgeConfigEntry, NotifyBridgeHub, SourceRuntime
from ..net import (
    async_service_url_errors,
    keep_url_credentials,
    url_without_credentials,
)
from ..pipeline.render import TemplateError, validate_template
from ..sources.immich.client import (
    AlbumSummary,
    ImmichAuthError,
    ImmichClient,
    ImmichConnectionError,
    ImmichError,
    ImmichUser,
    ServerVersion,
)
from ..sources.immich.coordinator import (
    ISSUE_ALBUM_DELETED,
    ISSUE_UNREACHABLE,
    STORE_VERSION,
    ImmichCoordinator,
    loaded_coordinators,
    parse_state,
    store_key,
)
from ..sources.immich.diff import AlbumWatcher, WatchEventType
from ..sources.immich.routes import (
    CONF_ALBUMS,
    CONF_ASSET_TYPES,
    CONF_DESTINATIONS,
    CONF_EVENTS,
    CONF_FAVORITES_ONLY,
    CONF_MAX_MEDIA,
    CONF_MEDIA,
    CONF_PEOPLE,
    CONF_TITLE_TEMPLATE,
    DEFAULT_COALESCE_SECONDS,
    DEFAULT_MAX_MEDIA,
    DEFAULT_TEMPLATES,
    FILTERABLE_TYPES,
    MAX_MEDIA_LIMIT,
    MediaPolicy,
    RouteConfig,
    template_key,
    watched_albums,
)
from . import Kind

_LOGGER = logging.getLogger(__name__)

CONF_USER_ID = "user_id"
ALREADY_CONFIGURED = "immich_already_configured"
ASSET_COUNT_KEY = "asset_count"


# --- validation shared by the entry flows -------------------------------------------


def normalize_url(value: str) -> str | None:
    """Return the server root (no trailing slash or /api), or None when not a URL."""
    try:
        url = URL(value.strip())
    except ValueError:
        return None
    if url.scheme not in ("http", "https") or not url.host:
        return None
    path = url.path.rstrip("/")
    path = path.removesuffix("/api")
    return str(url.with_path(path or "/").with_query(None).with_fragment(None)).rstrip(
        "/"
    )


def entry_unique_id(url: str, user: ImmichUser) -> str:
    """Return the unique id of an entry: the user on that server."""
    parsed = URL(url)
    return f"{user.id}@{parsed.host}:{parsed.port}{parsed.path.rstrip('/')}"


def make_client(hass: HomeAssistant, data: Mapping[str, Any]) -> ImmichClient:
    """Return a client of the server and key in entry data (or form input)."""
    verify_ssl = bool(data.get(CONF_VERIFY_SSL, True))
    return ImmichClient(
        async_get_clientsession(hass, verify_ssl),
        data[CONF_URL],
        data[CONF_API_KEY],
        verify_ssl=verify_ssl,
    )


async def async_validate_server(
    hass: HomeAssistant, data: Mapping[str, Any]
) -> tuple[tuple[ServerVersion, ImmichUser] | None, dict[str, str]]:
    """Ping, ask the version and the key's user; return what failed as form errors."""
    try:
        return await make_client(hass, data).async_validate(), {}
    except ImmichAuthError:
        return None, {"base": "invalid_auth"}
    except ImmichConnectionError:
        return None, {"base": "cannot_connect"}
    except ImmichError:
        return None, {"base": "not_immich"}
    except Exception:
        _LOGGER.exception("Unexpected error validating the Immich server")
        return None, {"base": "unknown"}


def _entry_schema(defaults: Mapping[str, Any]) -> vol.Schema:
    return vol.Schema(
        {
            vol.Required(CONF_URL, default=defaults.get(CONF_URL, vol.UNDEFINED)): (
                TextSelector(TextSelectorConfig(type=TextSelectorType.URL))
            ),
            vol.Required(CONF_API_KEY): TextSelector(
                TextSelectorConfig(type=TextSelectorType.PASSWORD)
            ),
            vol.Required(
                CONF_VERIFY_SSL, default=defaults.get(CONF_VERIFY_SSL, True)
            ): BooleanSelector(),
        }
    )


class ImmichEntryFlow(ConfigFlow):
    """Config flow steps of the Immich source."""

    async def _async_check(
        self, user_input: dict[str, Any]
    ) -> tuple[dict[str, Any] | None, ImmichUser | None, dict[str, str]]:
        url = normalize_url(str(user_input.get(CONF_URL, "")))
        if url is None:
            return None, None, {CONF_URL: "invalid_url"}
        if errors := await async_service_url_errors(CONF_URL, url):
            return None, None, errors
        data = {**user_input, CONF_URL: url}
        result, errors = await async_validate_server(self.hass, data)
        if result is None:
            return None, None, errors
        return data, result[1], {}

    async def async_step_immich(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Connect to an Immich server with an API key."""
        errors: dict[str, str] = {}
        if user_input is not None:
            data, user, errors = await self._async_check(user_input)
            if data is not None and user is not None:
                await self.async_set_unique_id(entry_unique_id(data[CONF_URL], user))
                self._abort_if_unique_id_configured(error=ALREADY_CONFIGURED)
                host = URL(data[CONF_URL]).host
                return self.async_create_entry(
                    title=f"{user.name or user.email} @ {host}",
                    data={CONF_KIND: EntryKind.IMMICH, **data, CONF_USER_ID: user.id},
                )
        return self.async_show_form(
            step_id="immich",
            data_schema=_entry_schema(user_input or {}),
            errors=errors,
        )

    async def async_step_reauth_immich(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The API key was refused: ask for a new one."""
        return await self.async_step_reauth_immich_confirm()

    async def async_step_reauth_immich_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Validate the new API key against the same server and user."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {**entry.data, CONF_API_KEY: user_input[CONF_API_KEY]}
            result, errors = await async_validate_server(self.hass, data)
            if result is not None:
                if result[1].id != entry.data[CONF_USER_ID]:
                    return self.async_abort(reason="wrong_account")
                return async_update_and_finish(
                    self, entry, data_updates={CONF_API_KEY: user_input[CONF_API_KEY]}
                )
        return self.async_show_form(
            step_id="reauth_immich_confirm",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_API_KEY): TextSelector(
                        TextSelectorConfig(type=TextSelectorType.PASSWORD)
                    )
                }
            ),
            description_placeholders={
                CONF_URL: url_without_credentials(entry.data[CONF_URL])
            },
            errors=errors,
        )

    async def async_step_reconfigure_immich(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the URL, key or certificate check; the user must stay the same."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            url = keep_url_credentials(user_input[CONF_URL], entry.data[CONF_URL])
            data, user, errors = await self._async_check({**user_input, CONF_URL: url})
            if data is not None and user is not None:
                if user.id != entry.data[CONF_USER_ID]:
                    return self.async_abort(reason="wrong_account")
                unique_id = entry_unique_id(data[CONF_URL], user)
                if any(
                    other.unique_id == unique_id and other.entry_id != entry.entry_id
                    for other in self._async_current_entries(include_ignore=False)
                ):
                    return self.async_abort(reason=ALREADY_CONFIGURED)
                return async_update_and_finish(
                    self, entry, unique_id=unique_id, data_updates=data
                )
        defaults = user_input or {
            **entry.data,
            CONF_URL: url_without_credentials(entry.data[CONF_URL]),
        }
        return self.async_show_form(
            step_id="reconfigure_immich",
            data_schema=self.add_suggested_values_to_schema(
                _entry_schema(defaults), {CONF_API_KEY: defaults.get(CONF_API_KEY)}
            ),
            errors=errors,
        )


# --- route subentries -----------------------------------------------------------------


def _multi_select(options: list[str], translation_key: str) -> SelectSelector:
    return SelectSelector(
        SelectSelectorConfig(
            options=options,
            multiple=True,
            translation_key=translation_key,
            mode=SelectSelectorMode.LIST,
        )
    )


def album_options(
    albums: tuple[AlbumSummary, ...], configured: list[str]
) -> list[SelectOptionDict]:
    """Return the album choices: every album the key sees, plus configured ones gone."""
    options = [
        SelectOptionDict(value=album.id, label=f"{album.name} ({album.asset_count})")
        for album in sorted(albums, key=lambda item: (item.name.casefold(), item.id))
    ]
    known = {album.id for album in albums}
    options.extend(
        SelectOptionDict(value=album_id, label=f"{album_id} (not found)")
        for album_id in configured
        if album_id not in known
    )
    return options


def route_schema(options: list[SelectOptionDict]) -> vol.Schema:
    """Return the route form."""
    schema: dict[vol.Marker, Any] = {
        vol.Required(CONF_NAME): TextSelector(),
        vol.Required(CONF_ALBUMS): SelectSelector(
            SelectSelectorConfig(
                options=options, multiple=True, mode=SelectSelectorMode.DROPDOWN
            )
        ),
        vol.Required(
            CONF_EVENTS, default=[WatchEventType.ASSETS_ADDED.value]
        ): _multi_select([event.value for event in WatchEventType], "immich_event"),
        vol.Required(CONF_FAVORITES_ONLY, default=False): BooleanSelector(),
        vol.Optional(CONF_ASSET_TYPES, default=[]): _multi_select(
            [kind.value for kind in FILTERABLE_TYPES], "immich_asset_type"
        ),
        vol.Optional(CONF_PEOPLE, default=[]): TextSelector(
            TextSelectorConfig(multiple=True)
        ),
        vol.Required(CONF_MEDIA, default=MediaPolicy.PREVIEW.value): SelectSelector(
            SelectSelectorConfig(
                options=[policy.value for policy in MediaPolicy],
                translation_key="immich_media",
                mode=SelectSelectorMode.DROPDOWN,
            )
        ),
        vol.Required(CONF_MAX_MEDIA, default=DEFAULT_MAX_MEDIA): NumberSelector(
            NumberSelectorConfig(
                min=0, max=MAX_MEDIA_LIMIT, step=1, mode=NumberSelectorMode.BOX
            )
        ),
        vol.Required(CONF_DESTINATIONS): EntitySelector(
            EntitySelectorConfig(
                integration=DOMAIN, domain=Platform.NOTIFY, multiple=True
            )
        ),
    }
    for event in WatchEventType:
        schema[vol.Required(template_key(event), default=DEFAULT_TEMPLATES[event])] = (
            TextSelector(TextSelectorConfig(multiline=True))
        )
    schema[vol.Optional(CONF_TITLE_TEMPLATE)] = TextSelector()
    schema.update(route_policy_fields(default_coalesce=DEFAULT_COALESCE_SECONDS))
    return vol.Schema(schema)


def validate_route(user_input: dict[str, Any]) -> dict[str, str]:
    """Check a route form and tidy its values in place; return the errors."""
    if not user_input.get(CONF_ALBUMS):
        return {CONF_ALBUMS: "no_albums"}
    if not user_input.get(CONF_EVENTS):
        return {CONF_EVENTS: "no_events"}
    if not user_input.get(CONF_DESTINATIONS):
        return {CONF_DESTINATIONS: "no_destinations"}
    user_input[CONF_MAX_MEDIA] = int(user_input.get(CONF_MAX_MEDIA, DEFAULT_MAX_MEDIA))
    user_input[CONF_PEOPLE] = [
        name.strip() for name in user_input.get(CONF_PEOPLE, []) if name.strip()
    ]
    fields = [template_key(event) for event in WatchEventType]
    for field in [*fields, CONF_TITLE_TEMPLATE]:
        try:
            validate_template(user_input.get(field) or "")
        except TemplateError:
            return {field: "invalid_template"}
    return {}


class ImmichRouteFlow(ConfigSubentryFlow):
    """Which albums, which changes, which filters and media, where to, how to say it."""

    _albums: tuple[AlbumSummary, ...] | None = None

    async def _async_load_albums(self) -> str | None:
        """List the server's albums once per flow; return an abort reason on failure."""
        if self._albums is not None:
            return None
        entry = self._get_entry()
        coordinator = loaded_coordinators(self.hass).get(entry.entry_id)
        client = (
            coordinator.client
            if coordinator is not None
            else make_client(self.hass, entry.data)
        )
        try:
            self._albums = await client.async_get_albums()
        except ImmichAuthError:
            return "invalid_auth"
        except ImmichError:
            return "cannot_connect"
        return None

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Add a route (the albums are listed from the live server)."""
        if (reason := await self._async_load_albums()) is not None:
            return self.async_abort(reason=reason)
        return await self.async_step_immich()

    async def async_step_immich(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """The route form, when adding."""
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = validate_route(user_input)
            if not errors:
                name = user_input.pop(CONF_NAME)
                return self.async_create_entry(title=name, data=user_input)
        return self._form("immich", user_input or {}, [], errors)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Edit a route."""
        if (reason := await self._async_load_albums()) is not None:
            return self.async_abort(reason=reason)
        return await self.async_step_immich_reconfigure()

    async def async_step_immich_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """The route form, when editing."""
        subentry = self._get_reconfigure_subentry()
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = validate_route(user_input)
            if not errors:
                name = user_input.pop(CONF_NAME)
                return self.async_update_and_abort(
                    self._get_entry(), subentry, title=name, data=user_input
                )
        current = user_input or {CONF_NAME: subentry.title, **subentry.data}
        return self._form(
            "immich_reconfigure",
            current,
            list(subentry.data.get(CONF_ALBUMS, ())),
            errors,
        )

    def _form(
        self,
        step_id: str,
        values: Mapping[str, Any],
        configured: list[str],
        errors: dict[str, str],
    ) -> SubentryFlowResult:
        options = album_options(self._albums or (), configured)
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(
                route_schema(options), values
            ),
            errors=errors,
            description_placeholders={"albums": str(len(self._albums or ()))},
        )


# --- entities -------------------------------------------------------------------------


class RouteAssetCountSensor(CoordinatorEntity[ImmichCoordinator], SensorEntity):
    """How many assets the albums of one route hold."""

    _attr_has_entity_name = True
    _attr_translation_key = "route_asset_count"
    _attr_state_class = SensorStateClass.MEASUREMENT
    _attr_native_unit_of_measurement = "assets"

    def __init__(
        self,
        coordinator: ImmichCoordinator,
        entry: NotifyBridgeConfigEntry,
        route: RouteConfig,
    ) -> None:
        """Attach to the source's device; the unique id comes from the subentry."""
        super().__init__(coordinator)
        self._route = route
        self._attr_unique_id = f"{entry.entry_id}_{route.route_id}_{ASSET_COUNT_KEY}"
        self._attr_translation_placeholders = {"route": route.name}
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, entry.entry_id)},
            name=entry.title,
            manufacturer="Notify Bridge",
            model="Source",
            entry_type=DeviceEntryType.SERVICE,
        )

    @property
    def native_value(self) -> int:
        """Return the sum of the route's album sizes."""
        return self.coordinator.asset_count(self._route.albums)

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Return the names of the route's albums as last seen."""
        albums = self.coordinator.watcher.state.albums
        return {
            "albums": sorted(
                albums[album_id].name
                for album_id in self._route.albums
                if album_id in albums
            )
        }


# --- setup ----------------------------------------------------------------------------


def _route_configs(entry: NotifyBridgeConfigEntry) -> tuple[RouteConfig, ...]:
    return tuple(
        RouteConfig.from_data(
            subentry.subentry_id, subentry.title, entry.entry_id, subentry.data
        )
        for subentry in entry.subentries.values()
        if subentry.subentry_type == SUBENTRY_ROUTE
    )


@callback
def _remove_stale(
    hass: HomeAssistant, entry: NotifyBridgeConfigEntry, routes: tuple[RouteConfig, ...]
) -> None:
    """Forget sensors and album issues of routes (or albums) no longer configured."""
    wanted = {
        f"{entry.entry_id}_{route.route_id}_{ASSET_COUNT_KEY}" for route in routes
    }
    registry = er.async_get(hass)
    for entity in er.async_entries_for_config_entry(registry, entry.entry_id):
        if entity.unique_id.endswith(f"_{ASSET_COUNT_KEY}") and (
            entity.unique_id not in wanted
        ):
            registry.async_remove(entity.entity_id)
    albums = {(route.route_id, album) for route in routes for album in route.albums}
    for issue_id, issue in list(_our_issues(hass)):
        data = issue.data or {}
        owner = data.get("entry_id")
        if hass.config_entries.async_get_entry(str(owner)) is None or (
            owner == entry.entry_id
            and issue.translation_key == ISSUE_ALBUM_DELETED
            and (data.get("subentry_id"), data.get("album_id")) not in albums
        ):
            # Its entry was removed, or the album is no longer in that route.
            ir.async_delete_issue(hass, DOMAIN, issue_id)


def _our_issues(hass: HomeAssistant) -> Iterator[tuple[str, ir.IssueEntry]]:
    """Yield the Immich source's issues (album deleted, server unreachable)."""
    for (domain, issue_id), issue in ir.async_get(hass).issues.items():
        if domain == DOMAIN and issue.translation_key in (
            ISSUE_ALBUM_DELETED,
            ISSUE_UNREACHABLE,
        ):
            yield issue_id, issue


async def async_setup_immich(
    hass: HomeAssistant, hub: NotifyBridgeHub, entry: NotifyBridgeConfigEntry
) -> SourceRuntime:
    """Load the seen-set, poll once, and route the changes of the watched albums."""
    routes = _route_configs(entry)
    pipeline_routes = tuple(r for route in routes for r in route.pipeline_routes())
    runtime = SourceRuntime(routes=pipeline_routes, problem=False)
    client = make_client(hass, entry.data)
    store: Store[dict[str, Any]] = Store(hass, STORE_VERSION, store_key(entry.entry_id))
    watcher = AlbumWatcher(
        client,
        album_ids=watched_albums(routes),
        state=parse_state(await store.async_load(), entry.title),
        # Home Assistant's clock (processing time-outs follow it, frozen in tests).
        clock=lambda: dt_util.utcnow().timestamp(),
    )
    coordinator = ImmichCoordinator(
        hass,
        entry,
        client=client,
        watcher=watcher,
        store=store,
        routes=routes,
        sink=lambda event: hub.async_submit_event(entry, runtime, event),
    )
    hub.set_routes(entry, pipeline_routes)
    _remove_stale(hass, entry, routes)

    @callback
    def update_problem() -> None:
        problem = not coordinator.last_update_success
        if problem != runtime.problem:
            runtime.problem = problem
            async_dispatcher_send(hass, SIGNAL_SOURCE_UPDATED.format(entry.entry_id))

    entry.async_on_unload(coordinator.async_add_listener(update_problem))
    entry.async_on_unload(coordinator.async_flush)
    await coordinator.async_config_entry_first_refresh()
    coordinators = loaded_coordinators(hass)
    coordinators[entry.entry_id] = coordinator
    hub.register_poller(entry, coordinator)

    @callback
    def forget() -> None:
        coordinators.pop(entry.entry_id, None)

    entry.async_on_unload(forget)
    runtime.extra_entities[Platform.SENSOR] = [
        RouteAssetCountSensor(coordinator, entry, route) for route in routes
    ]
    return runtime


KIND = Kind(
    kind=EntryKind.IMMICH,
    platforms=(Platform.BINARY_SENSOR, Platform.SENSOR),
    setup=async_setup_immich,
    entry_flow=ImmichEntryFlow,
    subentry_flows={SUBENTRY_ROUTE: ImmichRouteFlow},
    store_keys=lambda entry: [store_key(entry.entry_id)],
)
