"""The planka source: a bearer-token webhook; flows and setup."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any, Final

from homeassistant.config_entries import ConfigFlowResult, ConfigSubentry
from homeassistant.const import CONF_URL, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.selector import (
    BooleanSelector,
    SelectSelector,
    SelectSelectorConfig,
    TextSelector,
    TextSelectorConfig,
)
import voluptuous as vol

from ..const import CONF_TEMPLATE, SUBENTRY_ROUTE, EntryKind
from ..hub import NotifyBridgeConfigEntry, NotifyBridgeHub, SourceRuntime
from ..net import async_service_url_errors, keep_url_credentials
from ..pipeline.models import BridgeEvent, Route
from ..sources import planka
from ..sources.ingress import InboundWebhook
from . import Kind
from ._webhook_common import (
    CONF_LOCAL_ONLY,
    CONF_REGENERATE,
    WebhookEntryFlow,
    WebhookRouteFlow,
    WebhookState,
    async_setup_webhook_source,
    clean_list,
    name_field,
    optional_url,
    route_variants,
    url_selector,
    value_variants,
    webhook_store_key,
)

TITLE: Final = "Planka"
CONF_ACCESS_TOKEN: Final = "access_token"  # noqa: S105 - a field name
CONF_BOARDS: Final = "boards"
CONF_EVENTS: Final = "events"

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
    fields: dict[Any, Any] = name_field(TITLE) if with_name else {}
    fields[vol.Optional(CONF_URL)] = url_selector()
    fields[vol.Required(CONF_LOCAL_ONLY, default=False)] = BooleanSelector()
    if not with_name:
        fields[vol.Required(CONF_REGENERATE, default=False)] = BooleanSelector()
    return vol.Schema(fields)


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


class PlankaEntryFlow(WebhookEntryFlow):
    """Config flow steps of the planka source."""

    async def async_step_planka(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the Planka URL (for card links), then show the webhook."""
        return await self.async_webhook_create_step(
            "planka", user_input, _entry_schema(with_name=True), _async_settings
        )

    async def async_step_reconfigure_planka(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Edit the URL; shows the webhook URL and token again."""
        return await self.async_webhook_reconfigure_step(
            "reconfigure_planka",
            user_input,
            _entry_schema(with_name=False),
            _async_settings,
            CONF_ACCESS_TOKEN,
        )


class PlankaRouteFlow(WebhookRouteFlow):
    """Which boards and events; destinations; templates."""

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
    entry: NotifyBridgeConfigEntry, state: WebhookState, inbound: InboundWebhook
) -> BridgeEvent | None:
    event = planka.parse_planka_webhook(inbound, base_url=entry.data.get(CONF_URL))
    if event is None:
        return None
    return event.to_bridge_event(entry.entry_id, request_id=inbound.request_id)


async def async_setup_planka(
    hass: HomeAssistant, hub: NotifyBridgeHub, entry: NotifyBridgeConfigEntry
) -> SourceRuntime:
    """Register the webhook."""
    runtime, _ = await async_setup_webhook_source(
        hass,
        hub,
        entry,
        ingress=planka.planka_ingress_config(entry.data.get(CONF_ACCESS_TOKEN)),
        build_routes=build_routes,
        parse=partial(_parse, entry),
    )
    return runtime


KIND = Kind(
    kind=EntryKind.PLANKA,
    platforms=(Platform.SENSOR,),
    setup=async_setup_planka,
    entry_flow=PlankaEntryFlow,
    subentry_flows={SUBENTRY_ROUTE: PlankaRouteFlow},
    store_keys=lambda entry: [webhook_store_key(entry.entry_id)],
)
