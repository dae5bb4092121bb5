"""The Home Assistant events source's flows: the entry and its event routes."""

from __future__ import annotations

from collections.abc import Mapping
import re
from typing import Any

from homeassistant.config_entries import ConfigFlow, ConfigFlowResult
from homeassistant.const import CONF_NAME, Platform
from homeassistant.helpers.selector import (
    EntitySelector,
    EntitySelectorConfig,
    ObjectSelector,
    TextSelector,
    TextSelectorConfig,
)
import voluptuous as vol

from ...const import (
    CONF_DESTINATIONS,
    CONF_EVENT_DATA,
    CONF_EVENT_TYPE,
    CONF_TEMPLATE,
    CONF_TITLE_TEMPLATE,
    DOMAIN,
    EntryKind,
)
from ...pipeline.render import TemplateError, validate_template
from ..shared.flows import (
    SubentryFormFlow,
    route_policy_fields,
    single_instance_step,
    validate_schedule,
)
from .listener import OWN_EVENTS
from .preview import ROUTE_PREVIEW

TITLE = "Home Assistant events"
DEFAULT_ROUTE_TEMPLATE = "{{ data.message | default(event.type) }}"
# Home Assistant's own limit on event type length (MAX_LENGTH_EVENT_EVENT_TYPE).
_EVENT_TYPE = re.compile(r"^[a-z0-9_.]{1,64}$")


class HaEventsEntryFlow(ConfigFlow):
    """Config flow step of the ha_events source (one per installation)."""

    async def async_step_ha_events(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Add the Home Assistant event bus source."""
        return await single_instance_step(self, EntryKind.HA_EVENTS, TITLE, user_input)


class EventRouteFlow(SubentryFormFlow):
    """Which bus event, which destinations, which template."""

    route_preview = ROUTE_PREVIEW

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
                **route_policy_fields(),
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
        return validate_schedule(user_input)
