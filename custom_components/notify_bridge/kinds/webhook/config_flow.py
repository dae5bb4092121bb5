"""The generic webhook source's flows: the entry (authentication) and its routes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from homeassistant.config_entries import ConfigFlowResult
from homeassistant.helpers.selector import (
    BooleanSelector,
    ObjectSelector,
    SelectSelector,
    SelectSelectorConfig,
    TextSelector,
    TextSelectorConfig,
)
import voluptuous as vol

from ...const import CONF_EVENT_DATA
from ...sources import generic_webhook as generic
from ...sources.ingress import AuthMode
from ..shared.webhook_flows import (
    WebhookEntryFlow,
    WebhookRouteFlow,
    entry_schema,
)
from ..shared.webhook_source import (
    CONF_LOCAL_ONLY,
    clean_list,
)
from .fields import CONF_EVENT_TYPES
from .preview import ROUTE_PREVIEW

TITLE: Final = "Webhook"
# Entry fields besides the name, in form order (secret is generated, never typed).
_SETTINGS: Final = (
    generic.CONF_AUTH_MODE,
    CONF_LOCAL_ONLY,
    generic.CONF_TOKEN_HEADER,
    generic.CONF_SIGNATURE_HEADER,
    generic.CONF_SIGNATURE_PREFIX,
    generic.CONF_TIMESTAMP_HEADER,
    generic.CONF_IDEMPOTENCY_HEADER,
    generic.CONF_EVENT_FIELD,
)


def _entry_schema(*, with_name: bool) -> vol.Schema:
    return entry_schema(
        TITLE,
        {
            vol.Required(
                generic.CONF_AUTH_MODE, default=AuthMode.HMAC_SHA256.value
            ): SelectSelector(
                SelectSelectorConfig(
                    options=[mode.value for mode in AuthMode],
                    translation_key=generic.CONF_AUTH_MODE,
                )
            ),
            vol.Required(CONF_LOCAL_ONLY, default=False): BooleanSelector(),
            vol.Optional(
                generic.CONF_TOKEN_HEADER, default=generic.DEFAULT_TOKEN_HEADER
            ): TextSelector(),
            vol.Optional(
                generic.CONF_SIGNATURE_HEADER,
                default=generic.DEFAULT_SIGNATURE_HEADER,
            ): TextSelector(),
            vol.Required(generic.CONF_SIGNATURE_PREFIX, default=False): (
                BooleanSelector()
            ),
            vol.Optional(generic.CONF_TIMESTAMP_HEADER): TextSelector(),
            vol.Optional(
                generic.CONF_IDEMPOTENCY_HEADER,
                default=generic.DEFAULT_IDEMPOTENCY_HEADER,
            ): TextSelector(),
            vol.Optional(
                generic.CONF_EVENT_FIELD, default=generic.DEFAULT_EVENT_FIELD
            ): TextSelector(),
        },
        with_name=with_name,
    )


async def _async_settings(
    user_input: Mapping[str, Any], current: Mapping[str, Any], secret: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """Return the entry data (validated by the source's own rules) and errors."""
    data = {
        key: value.strip() if isinstance(value, str) else value
        for key in _SETTINGS
        if (value := user_input.get(key)) not in (None, "")
    }
    if data.get(generic.CONF_AUTH_MODE) != AuthMode.NONE:
        data[generic.CONF_SECRET] = secret
    try:
        generic.GenericWebhookConfig.from_mapping(data)
    except generic.ConfigError as err:
        return {}, err.errors
    return data, {}


class WebhookSourceEntryFlow(WebhookEntryFlow):
    """Config flow steps of the generic webhook source."""

    async def async_step_webhook(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask how senders authenticate, then show the webhook URL and secret."""
        # No unique id on purpose (unique-config-entry): every generic webhook entry
        # is a new endpoint with its own id and secret, so a second one is never a
        # duplicate of the first.
        return await self.async_webhook_create_step(
            "webhook", user_input, _entry_schema(with_name=True), _async_settings
        )

    async def webhook_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Edit the authentication; shows the webhook URL and secret again."""
        return await self.async_webhook_reconfigure_step(
            user_input,
            _entry_schema(with_name=False),
            _async_settings,
            generic.CONF_SECRET,
        )


class WebhookRouteFlowOfSource(WebhookRouteFlow):
    """Which event types (and payload values); destinations; template."""

    route_preview = ROUTE_PREVIEW

    template_required = True
    default_template = generic.DEFAULT_TEMPLATE

    def _filters(self, defaults: Mapping[str, Any]) -> dict[Any, Any]:
        return {
            vol.Optional(CONF_EVENT_TYPES): TextSelector(
                TextSelectorConfig(multiple=True)
            ),
            vol.Optional(CONF_EVENT_DATA): ObjectSelector(),
        }

    def _validate_filters(self, user_input: dict[str, Any]) -> dict[str, str]:
        match = user_input.get(CONF_EVENT_DATA) or {}
        if not isinstance(match, dict) or not all(
            isinstance(key, str) and generic.valid_field_path(key) for key in match
        ):
            return {CONF_EVENT_DATA: "invalid_event_data"}
        user_input[CONF_EVENT_DATA] = match
        user_input[CONF_EVENT_TYPES] = clean_list(user_input.get(CONF_EVENT_TYPES))
        return {}
