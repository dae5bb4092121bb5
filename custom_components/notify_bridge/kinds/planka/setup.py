"""Setting up a Planka entry: its bearer-token webhook and board routes."""

from __future__ import annotations

from functools import partial

from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import CONF_URL
from homeassistant.core import HomeAssistant

from ...const import CONF_EVENTS, CONF_TEMPLATE
from ...pipeline.models import BridgeEvent, Route
from ...runtime import BridgeHub
from ...sources import planka
from ...sources.ingress import InboundWebhook
from ..shared.webhook_source import (
    WebhookSourceConfigEntry,
    WebhookSourceRuntime,
    WebhookState,
    async_setup_webhook_source,
    route_variants,
    value_variants,
)
from .fields import CONF_ACCESS_TOKEN, CONF_BOARDS


def build_routes(source_entry_id: str, subentry: ConfigSubentry) -> list[Route]:
    """One pipeline route per event type (its default template) and board."""
    data = subentry.data
    custom = data.get(CONF_TEMPLATE) or None
    boards: list[str] = list(data.get(CONF_BOARDS) or ())
    # Planka ids are numeric strings. One key for every board of a route (ids when
    # all are ids, names otherwise), so no event can match two variants. Names
    # match in any case ("Family" typed as "family").
    key = "board_id"
    if not all(board.isdigit() for board in boards):
        key = planka.BOARD_KEY
        boards = [name for board in boards if (name := planka.board_key(board))]
    variants = [
        (
            frozenset({event_type}),
            board,
            custom or planka.default_template(event_type),
        )
        for event_type in data.get(CONF_EVENTS) or sorted(planka.DEFAULT_EVENT_TYPES)
        for board in value_variants(key, boards)
    ]
    return route_variants(subentry, source_entry_id, variants)


def _parse(
    entry: WebhookSourceConfigEntry, state: WebhookState, inbound: InboundWebhook
) -> BridgeEvent | None:
    event = planka.parse_planka_webhook(inbound, base_url=entry.data.get(CONF_URL))
    if event is None:
        return None
    return event.to_bridge_event(entry.entry_id, request_id=inbound.request_id)


async def async_setup_planka(
    hass: HomeAssistant, hub: BridgeHub, entry: WebhookSourceConfigEntry
) -> WebhookSourceRuntime:
    """Register the webhook."""
    return await async_setup_webhook_source(
        hass,
        hub,
        entry,
        ingress=planka.planka_ingress_config(entry.data.get(CONF_ACCESS_TOKEN)),
        build_routes=build_routes,
        parse=partial(_parse, entry),
        runtime_type=WebhookSourceRuntime,
    )
