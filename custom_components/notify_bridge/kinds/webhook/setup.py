"""Setting up a generic webhook entry with its configured authentication."""

from __future__ import annotations

from functools import partial

from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant

from ...const import CONF_EVENT_DATA, CONF_TEMPLATE
from ...pipeline.models import BridgeEvent, Route
from ...runtime import BridgeHub
from ...sources import generic_webhook as generic
from ...sources.ingress import InboundWebhook
from ..shared.webhook_source import (
    WebhookSourceConfigEntry,
    WebhookSourceRuntime,
    WebhookState,
    async_setup_webhook_source,
    route_variants,
)
from .fields import CONF_EVENT_TYPES


def build_routes(source_entry_id: str, subentry: ConfigSubentry) -> list[Route]:
    """One pipeline route: event types (empty: any) and payload values to match."""
    data = subentry.data
    match = {
        f"payload.{path}": value
        for path, value in (data.get(CONF_EVENT_DATA) or {}).items()
    }
    return route_variants(
        subentry,
        source_entry_id,
        [
            (
                frozenset(data.get(CONF_EVENT_TYPES) or ()),
                match,
                data.get(CONF_TEMPLATE) or generic.DEFAULT_TEMPLATE,
            )
        ],
    )


def _parse(
    entry_id: str,
    config: generic.GenericWebhookConfig,
    state: WebhookState,
    inbound: InboundWebhook,
) -> BridgeEvent | None:
    return generic.parse_generic_webhook(inbound, config).to_bridge_event(entry_id)


async def async_setup_webhook(
    hass: HomeAssistant, hub: BridgeHub, entry: WebhookSourceConfigEntry
) -> WebhookSourceRuntime:
    """Register the webhook with the configured authentication."""
    config = generic.GenericWebhookConfig.from_mapping(entry.data)
    return await async_setup_webhook_source(
        hass,
        hub,
        entry,
        ingress=config.ingress_config(),
        build_routes=build_routes,
        parse=partial(_parse, entry.entry_id, config),
        runtime_type=WebhookSourceRuntime,
    )
