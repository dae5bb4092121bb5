"""The Immich source's "album route" subentries: albums, changes, filters, media."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigEntryState,
    SubentryFlowResult,
)
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

from ...const import (
    CONF_COALESCE_SECONDS,
    CONF_DESTINATIONS,
    CONF_DIGEST,
    CONF_EVENTS,
    CONF_TITLE_TEMPLATE,
    DOMAIN,
)
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
    coalesce_fields,
    collapsed_section,
    flatten_sections,
    nest_sections,
    schedule_form_values,
    schedule_section_field,
    validate_schedule,
    visible_errors,
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
        vol.Optional(MEMORIES_SECTION): section(
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


# The collapsed sections of the route form, and the fields each holds (stored flat).
FILTERS_SECTION = "filters"
DELIVERY_SECTION = "delivery"
SECTIONS: Mapping[str, tuple[str, ...]] = {
    FILTERS_SECTION: (CONF_FAVORITES_ONLY, CONF_ASSET_TYPES, CONF_PEOPLE),
    DELIVERY_SECTION: (CONF_MEDIA, CONF_MAX_MEDIA, CONF_COALESCE_SECONDS, CONF_DIGEST),
}
TEMPLATE_FIELDS = (
    *(template_key(event) for event in WatchEventType),
    CONF_TITLE_TEMPLATE,
)


def form_values(data: Mapping[str, Any]) -> dict[str, Any]:
    """Return a stored route as its edit form shows it (sections filled in)."""
    values = {
        **data,
        # Older routes stored Immich's upper-case types; the form shows keys.
        CONF_ASSET_TYPES: [
            asset_type_key(kind)
            for kind in parse_asset_types(data.get(CONF_ASSET_TYPES))
        ],
        **schedule_form_values(data),
        MEMORIES_SECTION: {
            CONF_MEMORIES: list(data.get(CONF_MEMORIES, ())),
            CONF_MEMORIES_AT: data.get(CONF_MEMORIES_AT, DEFAULT_MEMORIES_AT),
        },
    }
    return nest_sections(values, SECTIONS)


def route_schema(options: list[SelectOptionDict]) -> vol.Schema:
    """Return the route form: what to watch and where to; the rest in sections."""
    filters = {
        vol.Required(CONF_FAVORITES_ONLY, default=False): BooleanSelector(),
        vol.Optional(CONF_ASSET_TYPES, default=list): _multi_select(
            [asset_type_key(kind) for kind in FILTERABLE_TYPES], "immich_asset_type"
        ),
        vol.Optional(CONF_PEOPLE, default=list): TextSelector(
            TextSelectorConfig(multiple=True)
        ),
    }
    delivery = {
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
        **coalesce_fields(default_coalesce=DEFAULT_COALESCE_SECONDS),
    }
    return vol.Schema(
        {
            vol.Required(CONF_NAME): TextSelector(),
            vol.Required(CONF_ALBUMS): SelectSelector(
                SelectSelectorConfig(
                    options=options, multiple=True, mode=SelectSelectorMode.DROPDOWN
                )
            ),
            vol.Required(
                CONF_EVENTS, default=[WatchEventType.ASSETS_ADDED.value]
            ): _multi_select([event.value for event in WatchEventType], "immich_event"),
            vol.Required(CONF_DESTINATIONS): EntitySelector(
                EntitySelectorConfig(
                    integration=DOMAIN, domain=Platform.NOTIFY, multiple=True
                )
            ),
            vol.Optional(FILTERS_SECTION): collapsed_section(filters),
            vol.Optional(DELIVERY_SECTION): collapsed_section(delivery),
            **schedule_section_field(),
            **memories_fields(),
        }
    )


def templates_schema(events: Iterable[str]) -> vol.Schema:
    """Return the second step: a template for each picked change, then the title."""
    picked = set(events)
    schema: dict[vol.Marker, Any] = {
        vol.Required(template_key(event), default=DEFAULT_TEMPLATES[event]): (
            TextSelector(TextSelectorConfig(multiline=True))
        )
        for event in WatchEventType
        if event.value in picked
    }
    schema[vol.Optional(CONF_TITLE_TEMPLATE)] = TextSelector()
    return vol.Schema(schema)


def validate_route(user_input: dict[str, Any], schema: vol.Schema) -> dict[str, str]:
    """Check the route form (`schema`) and tidy its values in place (sections
    flattened into the stored keys); return the errors."""
    if not user_input.get(CONF_ALBUMS):
        return {CONF_ALBUMS: "no_albums"}
    if not user_input.get(CONF_EVENTS):
        return {CONF_EVENTS: "no_events"}
    if not user_input.get(CONF_DESTINATIONS):
        return {CONF_DESTINATIONS: "no_destinations"}
    flatten_sections(user_input, schema, SECTIONS)
    user_input[CONF_MAX_MEDIA] = int(user_input.get(CONF_MAX_MEDIA, DEFAULT_MAX_MEDIA))
    user_input[CONF_PEOPLE] = [
        name.strip() for name in user_input.get(CONF_PEOPLE, []) if name.strip()
    ]
    # Last: on success they replace their sections with the stored keys.
    return validate_schedule(user_input) or validate_memories(user_input)


def validate_templates(user_input: Mapping[str, Any]) -> dict[str, str]:
    """Return the error of the first template that is not valid Jinja2."""
    for field in TEMPLATE_FIELDS:
        try:
            validate_template(user_input.get(field) or "")
        except TemplateError:
            return {field: "invalid_template"}
    return {}


class AlbumRouteFlow(RoutePreviewFlow):
    """Which albums, which changes, which filters and media, where to, how to say it."""

    route_preview = ROUTE_PREVIEW

    _albums: tuple[AlbumSummary, ...] | None = None
    # The first step's values (stored shape, with the name) while templates are asked.
    _route: dict[str, Any] | None = None

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
        return await self._async_settings_step("user", user_input, {}, [])

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Edit a route; its templates come next."""
        subentry = self._get_reconfigure_subentry()
        current = {CONF_NAME: subentry.title, **form_values(subentry.data)}
        configured = list(subentry.data.get(CONF_ALBUMS, ()))
        return await self._async_settings_step(
            "reconfigure", user_input, current, configured
        )

    async def async_step_templates(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """The templates of the changes picked in the first step, with a preview."""
        route = self._route
        if route is None:
            return self.async_abort(reason="unknown")
        schema = templates_schema(route.get(CONF_EVENTS, ()))
        errors: dict[str, str] = {}
        values: dict[str, Any] = self._stored_templates()
        if user_input is not None:
            preview_only = bool(user_input.pop(CONF_PREVIEW_ONLY, False))
            values = dict(user_input)
            errors = validate_templates(user_input)
            if not errors and not preview_only:
                return self._async_save(route, user_input)
        preview = await self.async_preview_placeholders(
            schema, {**route, **values}, errors
        )
        return self.async_show_form(
            step_id="templates",
            data_schema=self.add_suggested_values_to_schema(
                with_preview_field(schema), values
            ),
            errors=errors,
            description_placeholders=preview,
        )

    async def _async_settings_step(
        self,
        step_id: str,
        user_input: dict[str, Any] | None,
        current: Mapping[str, Any],
        configured: list[str],
    ) -> SubentryFlowResult:
        """The first step: albums, changes, destinations and the sections."""
        if (reason := await self._async_load_albums()) is not None:
            return self.async_abort(reason=reason)
        errors: dict[str, str] = {}
        schema = route_schema(album_options(self._albums or (), configured))
        # As typed (sections nested): what the form shows again after an error.
        typed = dict(user_input or {})
        if user_input is not None:
            errors = validate_route(user_input, schema)
            if not errors:
                self._route = user_input
                return await self.async_step_templates()
        values = typed or current
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(schema, values),
            errors=visible_errors(schema, errors),
            description_placeholders={"albums": str(len(self._albums or ()))},
        )

    def _stored_templates(self) -> dict[str, Any]:
        """Return the templates an edited route has (none for a new one)."""
        if self.source != SOURCE_RECONFIGURE:
            return {}
        data = self._get_reconfigure_subentry().data
        return {key: data[key] for key in TEMPLATE_FIELDS if key in data}

    def _async_save(
        self, route: Mapping[str, Any], templates: Mapping[str, Any]
    ) -> SubentryFlowResult:
        """Create or update the route: first step, templates, and on an edit the
        templates of changes not picked now (picking one again brings it back)."""
        data = {**route, **templates}
        name = str(data.pop(CONF_NAME))
        if self.source != SOURCE_RECONFIGURE:
            return self.async_create_entry(title=name, data=data)
        kept = {
            key: value
            for key, value in self._stored_templates().items()
            if key != CONF_TITLE_TEMPLATE and key not in data
        }
        return self.async_update_and_abort(
            self._get_entry(),
            self._get_reconfigure_subentry(),
            title=name,
            data={**kept, **data},
        )
