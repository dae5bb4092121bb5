"""The Home Assistant target's flows: the entry and its notification targets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.components.notify import (
    DOMAIN as NOTIFY_DOMAIN,
    SERVICE_SEND_MESSAGE,
)
from homeassistant.config_entries import ConfigFlow, ConfigFlowResult
from homeassistant.const import CONF_NAME
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.selector import (
    EntitySelector,
    EntitySelectorConfig,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
)
import voluptuous as vol

from ...const import (
    CONF_DELIVERY,
    CONF_NOTIFY_ENTITY,
    CONF_NOTIFY_SERVICE,
    DOMAIN,
    EntryKind,
    HaDelivery,
)
from ..shared.flows import (
    SubentryFormFlow,
    clean_language,
    language_field,
    quiet_hours_fields,
    single_instance_step,
    validate_quiet_hours,
)

# Says what the entry is next to the "Home Assistant events" source.
TITLE = "Home Assistant notifications"


class HomeAssistantEntryFlow(ConfigFlow):
    """Config flow step of the home_assistant target (one per installation)."""

    async def async_step_home_assistant(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Add the Home Assistant notification target."""
        return await single_instance_step(
            self, EntryKind.HOME_ASSISTANT, TITLE, user_input
        )


class NotificationTargetFlow(SubentryFormFlow):
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
                **language_field(),
                **quiet_hours_fields(),
            }
        )

    def _validate(self, user_input: dict[str, Any]) -> dict[str, str]:
        clean_language(user_input)
        return validate_quiet_hours(user_input) or self._validate_target(user_input)

    def _validate_target(self, user_input: dict[str, Any]) -> dict[str, str]:
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
