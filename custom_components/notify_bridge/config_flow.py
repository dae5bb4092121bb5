"""Config flow: a menu of entry kinds, destination and route subentries."""

from __future__ import annotations

from collections.abc import Mapping
import re
from typing import Any

from homeassistant.components.notify import (
    DOMAIN as NOTIFY_DOMAIN,
    SERVICE_SEND_MESSAGE,
)
from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
    SubentryFlowResult,
)
from homeassistant.const import CONF_NAME, Platform
from homeassistant.core import callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.selector import (
    EntitySelector,
    EntitySelectorConfig,
    ObjectSelector,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
)
import voluptuous as vol

from .const import (
    CONF_DELIVERY,
    CONF_DESTINATIONS,
    CONF_EVENT_DATA,
    CONF_EVENT_TYPE,
    CONF_KIND,
    CONF_NOTIFY_ENTITY,
    CONF_NOTIFY_SERVICE,
    CONF_TEMPLATE,
    CONF_TITLE_TEMPLATE,
    DOMAIN,
    SUBENTRY_DESTINATION,
    SUBENTRY_ROUTE,
    EntryKind,
    HaDelivery,
)
from .pipeline.render import TemplateError, validate_template
from .sources.ha_events import OWN_EVENTS

DEFAULT_TITLES = {
    EntryKind.HOME_ASSISTANT: "Home Assistant",
    EntryKind.HA_EVENTS: "Home Assistant events",
}
DEFAULT_ROUTE_TEMPLATE = "{{ data.message | default(event.type) }}"
# Home Assistant's own limit on event type length (MAX_LENGTH_EVENT_EVENT_TYPE).
_EVENT_TYPE = re.compile(r"^[a-z0-9_.]{1,64}$")


def _name_schema(default: str) -> vol.Schema:
    return vol.Schema({vol.Required(CONF_NAME, default=default): TextSelector()})


class NotifyBridgeConfigFlow(ConfigFlow, domain=DOMAIN):
    """Create targets and sources."""

    VERSION = 1

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Targets have destinations, sources have routes."""
        if config_entry.data[CONF_KIND] == EntryKind.HOME_ASSISTANT:
            return {SUBENTRY_DESTINATION: HomeAssistantDestinationFlow}
        return {SUBENTRY_ROUTE: HaEventsRouteFlow}

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Pick what to add."""
        return self.async_show_menu(
            step_id="user",
            menu_options=[EntryKind.HOME_ASSISTANT, EntryKind.HA_EVENTS],
        )

    async def async_step_home_assistant(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Add the Home Assistant notification target (one per installation)."""
        return await self._async_single_kind(EntryKind.HOME_ASSISTANT, user_input)

    async def async_step_ha_events(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Add the Home Assistant event bus source (one per installation)."""
        return await self._async_single_kind(EntryKind.HA_EVENTS, user_input)

    async def _async_single_kind(
        self, kind: EntryKind, user_input: dict[str, Any] | None
    ) -> ConfigFlowResult:
        await self.async_set_unique_id(kind.value)
        self._abort_if_unique_id_configured()
        if user_input is None:
            return self.async_show_form(
                step_id=kind.value, data_schema=_name_schema(DEFAULT_TITLES[kind])
            )
        return self.async_create_entry(
            title=user_input[CONF_NAME], data={CONF_KIND: kind.value}
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Rename an entry (these kinds have no connection settings)."""
        entry = self._get_reconfigure_entry()
        if user_input is not None:
            return self.async_update_reload_and_abort(
                entry, title=user_input[CONF_NAME]
            )
        return self.async_show_form(
            step_id="reconfigure", data_schema=_name_schema(entry.title)
        )


class _SubentryFlow(ConfigSubentryFlow):
    """Shared user/reconfigure handling: one form, validated, then saved."""

    def _schema(self, defaults: Mapping[str, Any]) -> vol.Schema:
        raise NotImplementedError

    def _validate(self, user_input: dict[str, Any]) -> dict[str, str]:
        raise NotImplementedError

    def _unique_id(self, user_input: dict[str, Any]) -> str | None:
        return None

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Create the subentry."""
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = self._validate(user_input)
            unique_id = self._unique_id(user_input)
            if not errors and self._unique_id_taken(unique_id, None):
                return self.async_abort(reason="already_configured")
            if not errors:
                name = user_input.pop(CONF_NAME)
                return self.async_create_entry(
                    title=name, data=user_input, unique_id=unique_id
                )
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(
                self._schema({}), user_input or {}
            ),
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Edit the subentry."""
        subentry = self._get_reconfigure_subentry()
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = self._validate(user_input)
            unique_id = self._unique_id(user_input)
            if not errors and self._unique_id_taken(unique_id, subentry.subentry_id):
                return self.async_abort(reason="already_configured")
            if not errors:
                name = user_input.pop(CONF_NAME)
                return self.async_update_and_abort(
                    self._get_entry(),
                    subentry,
                    title=name,
                    data=user_input,
                    unique_id=unique_id,
                )
        current = user_input or {CONF_NAME: subentry.title, **subentry.data}
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                self._schema(current), current
            ),
            errors=errors,
        )

    def _unique_id_taken(self, unique_id: str | None, own_id: str | None) -> bool:
        return unique_id is not None and any(
            sub.unique_id == unique_id and sub.subentry_id != own_id
            for sub in self._get_entry().subentries.values()
        )


class HomeAssistantDestinationFlow(_SubentryFlow):
    """A persistent notification, a notify entity or a legacy notify service."""

    def _schema(self, defaults: Mapping[str, Any]) -> vol.Schema:
        services = sorted(
            name
            for name in self.hass.services.async_services_for_domain(NOTIFY_DOMAIN)
            if name not in (SERVICE_SEND_MESSAGE, "persistent_notification")
        )
        return vol.Schema(
            {
                vol.Required(CONF_NAME): TextSelector(),
                vol.Required(
                    CONF_DELIVERY, default=HaDelivery.PERSISTENT_NOTIFICATION
                ): SelectSelector(
                    SelectSelectorConfig(
                        options=[mode.value for mode in HaDelivery],
                        translation_key=CONF_DELIVERY,
                    )
                ),
                vol.Optional(CONF_NOTIFY_ENTITY): EntitySelector(
                    EntitySelectorConfig(domain=NOTIFY_DOMAIN)
                ),
                vol.Optional(CONF_NOTIFY_SERVICE): SelectSelector(
                    SelectSelectorConfig(
                        options=services,
                        custom_value=True,
                        mode=SelectSelectorMode.DROPDOWN,
                    )
                ),
            }
        )

    def _validate(self, user_input: dict[str, Any]) -> dict[str, str]:
        delivery = HaDelivery(user_input[CONF_DELIVERY])
        entity_id = user_input.get(CONF_NOTIFY_ENTITY)
        service = user_input.get(CONF_NOTIFY_SERVICE)
        # Keep only the field the chosen delivery uses.
        user_input.pop(CONF_NOTIFY_ENTITY, None)
        user_input.pop(CONF_NOTIFY_SERVICE, None)
        if delivery is HaDelivery.NOTIFY_ENTITY:
            if not entity_id:
                return {CONF_NOTIFY_ENTITY: "entity_required"}
            registry_entry = er.async_get(self.hass).async_get(entity_id)
            if registry_entry is not None and registry_entry.platform == DOMAIN:
                # Delivering to ourselves would loop forever.
                return {CONF_NOTIFY_ENTITY: "own_entity"}
            if self.hass.states.get(entity_id) is None and registry_entry is None:
                return {CONF_NOTIFY_ENTITY: "entity_not_found"}
            user_input[CONF_NOTIFY_ENTITY] = entity_id
        elif delivery is HaDelivery.NOTIFY_SERVICE:
            if not service:
                return {CONF_NOTIFY_SERVICE: "service_required"}
            if not self.hass.services.has_service(NOTIFY_DOMAIN, service):
                return {CONF_NOTIFY_SERVICE: "service_not_found"}
            user_input[CONF_NOTIFY_SERVICE] = service
        return {}

    def _unique_id(self, user_input: dict[str, Any]) -> str | None:
        delivery = user_input[CONF_DELIVERY]
        target = user_input.get(CONF_NOTIFY_ENTITY) or user_input.get(
            CONF_NOTIFY_SERVICE
        )
        return delivery if target is None else f"{delivery}:{target}"


class HaEventsRouteFlow(_SubentryFlow):
    """Which bus event, which destinations, which template."""

    def _schema(self, defaults: Mapping[str, Any]) -> vol.Schema:
        return vol.Schema(
            {
                vol.Required(CONF_NAME): TextSelector(),
                vol.Required(CONF_EVENT_TYPE): TextSelector(),
                vol.Optional(CONF_EVENT_DATA): ObjectSelector(),
                vol.Required(CONF_DESTINATIONS): EntitySelector(
                    EntitySelectorConfig(
                        integration=DOMAIN, domain=Platform.NOTIFY, multiple=True
                    )
                ),
                vol.Required(
                    CONF_TEMPLATE, default=DEFAULT_ROUTE_TEMPLATE
                ): TextSelector(TextSelectorConfig(multiline=True)),
                vol.Optional(CONF_TITLE_TEMPLATE): TextSelector(),
            }
        )

    def _validate(self, user_input: dict[str, Any]) -> dict[str, str]:
        event_type = str(user_input[CONF_EVENT_TYPE]).strip()
        user_input[CONF_EVENT_TYPE] = event_type
        if not _EVENT_TYPE.match(event_type):
            return {CONF_EVENT_TYPE: "invalid_event_type"}
        if event_type in OWN_EVENTS:
            return {CONF_EVENT_TYPE: "own_event_type"}
        event_data = user_input.get(CONF_EVENT_DATA) or {}
        if not isinstance(event_data, dict):
            return {CONF_EVENT_DATA: "invalid_event_data"}
        user_input[CONF_EVENT_DATA] = event_data
        if not user_input.get(CONF_DESTINATIONS):
            return {CONF_DESTINATIONS: "no_destinations"}
        for field in (CONF_TEMPLATE, CONF_TITLE_TEMPLATE):
            try:
                validate_template(user_input.get(field) or "")
            except TemplateError:
                return {field: "invalid_template"}
        return {}
