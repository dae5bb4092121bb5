"""The Planka source's flows: the entry (card links URL) and board routes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from homeassistant.config_entries import ConfigFlowResult
from homeassistant.const import CONF_URL
from homeassistant.helpers.selector import (
    BooleanSelector,
    SelectSelector,
    SelectSelectorConfig,
    TextSelector,
    TextSelectorConfig,
)
import voluptuous as vol

from ...const import CONF_EVENTS
from ...net import (
    async_service_url_errors,
    keep_url_credentials,
    url_without_credentials,
)
from ...sources import planka
from ..shared.webhook_flows import (
    WebhookEntryFlow,
    WebhookRouteFlow,
    entry_schema,
    optional_url,
    url_selector,
)
from ..shared.webhook_source import (
    CONF_LOCAL_ONLY,
    clean_list,
)
from .fields import CONF_ACCESS_TOKEN, CONF_BOARDS
from .preview import ROUTE_PREVIEW

TITLE: Final = "Planka"

EVENT_TYPES: Final = (
    planka.CARD_CREATED,
    planka.CARD_MOVED,
    planka.CARD_UPDATED,
    planka.COMMENT_CREATED,
    planka.TASK_COMPLETED,
    planka.TASK_UPDATED,
    planka.CARD_MEMBER_ADDED,
)


def _entry_schema(*, with_name: bool) -> vol.Schema:
    fields = {
        vol.Optional(CONF_URL): url_selector(),
        vol.Required(CONF_LOCAL_ONLY, default=False): BooleanSelector(),
    }
    return entry_schema(TITLE, fields, with_name=with_name)


async def _async_settings(
    user_input: Mapping[str, Any], current: Mapping[str, Any], secret: str
) -> tuple[dict[str, Any], dict[str, str]]:
    url, errors = optional_url(user_input.get(CONF_URL))
    if url is not None and not errors:
        errors = await async_service_url_errors(CONF_URL, url)
        url = keep_url_credentials(url, current.get(CONF_URL))
    data: dict[str, Any] = {
        CONF_LOCAL_ONLY: bool(user_input.get(CONF_LOCAL_ONLY, False)),
        CONF_ACCESS_TOKEN: secret,
    }
    if url is not None:
        data[CONF_URL] = url
    return data, errors


def _unique_id(data: Mapping[str, Any]) -> str | None:
    """One entry per Planka server: its URL (without credentials) identifies it.

    Without a URL nothing names the server, and a second entry is a second webhook
    endpoint with its own token, like a second generic webhook: allowed.
    """
    url = data.get(CONF_URL)
    return f"planka:{url_without_credentials(url)}" if url else None


class PlankaEntryFlow(WebhookEntryFlow):
    """Config flow steps of the planka source."""

    async def async_step_planka(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the Planka URL (for card links), then show the webhook."""
        return await self.async_webhook_create_step(
            "planka",
            user_input,
            _entry_schema(with_name=True),
            _async_settings,
            _unique_id,
        )

    async def planka_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Edit the URL; shows the webhook URL and token again."""
        return await self.async_webhook_reconfigure_step(
            user_input,
            _entry_schema(with_name=False),
            _async_settings,
            CONF_ACCESS_TOKEN,
            _unique_id,
            # The URL only makes card links: it may change, not to another entry's.
            movable=True,
        )


class BoardRouteFlow(WebhookRouteFlow):
    """Which boards and events; destinations; templates."""

    route_preview = ROUTE_PREVIEW

    def _filters(self, defaults: Mapping[str, Any]) -> dict[Any, Any]:
        return {
            vol.Optional(CONF_BOARDS): TextSelector(TextSelectorConfig(multiple=True)),
            vol.Required(
                CONF_EVENTS, default=sorted(planka.DEFAULT_EVENT_TYPES)
            ): SelectSelector(
                SelectSelectorConfig(
                    options=list(EVENT_TYPES),
                    multiple=True,
                    translation_key="planka_events",
                )
            ),
        }

    def _validate_filters(self, user_input: dict[str, Any]) -> dict[str, str]:
        events = clean_list(user_input.get(CONF_EVENTS))
        if not events:  # the selector allows only known event types
            return {CONF_EVENTS: "no_events"}
        user_input[CONF_EVENTS] = events
        user_input[CONF_BOARDS] = clean_list(user_input.get(CONF_BOARDS))
        return {}
