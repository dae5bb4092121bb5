"""The generic webhook source: bearer, HMAC or (local only) no authentication, and
"webhook route" subentries."""

from __future__ import annotations

from ...const import SUBENTRY_WEBHOOK_ROUTE, EntryKind
from ...runtime import EntrySteps, Kind
from ..shared.entities import source_entities
from ..shared.webhook_source import webhook_store_key
from .config_flow import WebhookRouteFlowOfSource, WebhookSourceEntryFlow
from .preview import ROUTE_PREVIEW
from .setup import async_setup_webhook

KIND = Kind(
    kind=EntryKind.WEBHOOK,
    manufacturer="Webhook",
    setup=async_setup_webhook,
    entry_steps=EntrySteps(
        create=WebhookSourceEntryFlow.async_step_webhook,
        reconfigure=WebhookSourceEntryFlow.webhook_reconfigure,
        flow=WebhookSourceEntryFlow,
    ),
    subentry_type=SUBENTRY_WEBHOOK_ROUTE,
    subentry_flow=WebhookRouteFlowOfSource,
    entities=source_entities(route_model="Webhook route"),
    store_keys=lambda entry: [webhook_store_key(entry.entry_id)],
    route_preview=ROUTE_PREVIEW,
)
