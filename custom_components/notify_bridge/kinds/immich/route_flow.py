"""The Immich source's "album route" subentries: albums, changes, filters, media."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import ConfigEntryState, SubentryFlowResult
from homeassistant.const import CONF_NAME, Platform
from homeassistant.data_entry_flow import section
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
    TimeSelector,
)
import voluptuous as vol

from ...const import CONF_DESTINATIONS, CONF_EVENTS, CONF_TITLE_TEMPLATE, DOMAIN
from ...pipeline.render import TemplateError, validate_template
from ...pipeline.schedule import parse_clock
from ...sources.immich.client import AlbumSummary, ImmichAuthError, ImmichError
from ...sources.immich.events import WatchEventType
from ...sources.immich.memories import MemoryKind
from ...sources.immich.routes import (
    CONF_ALBUMS,
    CONF_ASSET_TYPES,
    CONF_FAVORITES_ONLY,
    CONF_MAX_MEDIA,
    CONF_MEDIA,
    CONF_MEMORIES,
    CONF_MEMORIES_AT,
    CONF_PEOPLE,
    DEFAULT_COALESCE_SECONDS,
    DEFAULT_MAX_MEDIA,
    DEFAULT_MEMORIES_AT,
    DEFAULT_TEMPLATES,
    FILTERABLE_TYPES,
    MAX_MEDIA_LIMIT,
    MediaPolicy,
    asset_type_key,
    parse_asset_types,
    template_key,
)
from ..shared.flows import (
    route_policy_fields,
    schedule_form_values,
    validate_schedule,
)
from ..shared.preview import CONF_PREVIEW_ONLY, RoutePreviewFlow, with_preview_field
from .client_factory import make_client
from .preview import ROUTE_PREVIEW
from .setup import ImmichRuntime


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


# The collapsed form section of a route's memories.
MEMORIES_SECTION = "memories_schedule"


def memories_fields() -> dict[vol.Marker, Any]:
    """Return the memories section: which memories, at which local time."""
    return {
        vol.Optional(MEMORIES_SECTION, default=dict): section(
            vol.Schema(
                {
                    vol.Optional(CONF_MEMORIES, default=list): _multi_select(
                        [kind.value for kind in MemoryKind], "immich_memories"
                    ),
                    vol.Optional(
                        CONF_MEMORIES_AT, default=DEFAULT_MEMORIES_AT
                    ): TimeSelector(),
                }
            ),
            {"collapsed": True},
        )
    }


def validate_memories(user_input: dict[str, Any]) -> dict[str, str]:
    """Turn the memories section into stored options (none when none is picked)."""
    values = user_input.get(MEMORIES_SECTION) or {}
    kinds = [k for k in values.get(CONF_MEMORIES) or () if k in set(MemoryKind)]
    at = str(values.get(CONF_MEMORIES_AT) or DEFAULT_MEMORIES_AT)[:5]
    try:
        parse_clock(at)
    except ValueError:
        return {CONF_MEMORIES_AT: "invalid_memories_at"}
    user_input.pop(MEMORIES_SECTION, None)
    user_input.pop(CONF_MEMORIES, None)
    user_input.pop(CONF_MEMORIES_AT, None)
    if kinds:
        user_input[CONF_MEMORIES] = kinds
        user_input[CONF_MEMORIES_AT] = at
    return {}


def form_values(data: Mapping[str, Any]) -> dict[str, Any]:
    """Return a stored route as its edit form shows it (sections filled in)."""
    return {
        **data,
        **schedule_form_values(data),
        MEMORIES_SECTION: {
            CONF_MEMORIES: list(data.get(CONF_MEMORIES, ())),
            CONF_MEMORIES_AT: data.get(CONF_MEMORIES_AT, DEFAULT_MEMORIES_AT),
        },
    }


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
            [asset_type_key(kind) for kind in FILTERABLE_TYPES], "immich_asset_type"
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
    schema.update(memories_fields())
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
    # Last: on success they replace their sections with the stored keys.
    return validate_schedule(user_input) or validate_memories(user_input)


class AlbumRouteFlow(RoutePreviewFlow):
    """Which albums, which changes, which filters and media, where to, how to say it."""

    route_preview = ROUTE_PREVIEW

    _albums: tuple[AlbumSummary, ...] | None = None

    async def _async_load_albums(self) -> str | None:
        """List the server's albums once per flow; return an abort reason on failure."""
        if self._albums is not None:
            return None
        entry = self._get_entry()
        loaded = entry.state is ConfigEntryState.LOADED
        runtime: ImmichRuntime | None = entry.runtime_data if loaded else None
        client = (
            runtime.coordinator.client
            if runtime is not None
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
        errors: dict[str, str] = {}
        if user_input is not None:
            preview_only = bool(user_input.pop(CONF_PREVIEW_ONLY, False))
            errors = validate_route(user_input)
            if not errors and not preview_only:
                name = user_input.pop(CONF_NAME)
                return self.async_create_entry(title=name, data=user_input)
        return await self._async_form("user", user_input or {}, [], errors)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Edit a route."""
        if (reason := await self._async_load_albums()) is not None:
            return self.async_abort(reason=reason)
        subentry = self._get_reconfigure_subentry()
        errors: dict[str, str] = {}
        if user_input is not None:
            preview_only = bool(user_input.pop(CONF_PREVIEW_ONLY, False))
            errors = validate_route(user_input)
            if not errors and not preview_only:
                name = user_input.pop(CONF_NAME)
                return self.async_update_and_abort(
                    self._get_entry(), subentry, title=name, data=user_input
                )
        current = user_input or {
            CONF_NAME: subentry.title,
            **form_values(subentry.data),
            # Older routes stored Immich's upper-case types; the form shows keys.
            CONF_ASSET_TYPES: [
                asset_type_key(kind)
                for kind in parse_asset_types(subentry.data.get(CONF_ASSET_TYPES))
            ],
        }
        return await self._async_form(
            "reconfigure",
            current,
            list(subentry.data.get(CONF_ALBUMS, ())),
            errors,
        )

    async def _async_form(
        self,
        step_id: str,
        values: Mapping[str, Any],
        configured: list[str],
        errors: dict[str, str],
    ) -> SubentryFlowResult:
        schema = route_schema(album_options(self._albums or (), configured))
        preview = await self.async_preview_placeholders(schema, values, errors)
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(
                with_preview_field(schema), values
            ),
            errors=errors,
            description_placeholders={
                "albums": str(len(self._albums or ())),
                **preview,
            },
        )
