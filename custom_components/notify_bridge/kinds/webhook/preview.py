"""What a webhook route is previewed with: a sample JSON delivery."""

from __future__ import annotations

from datetime import UTC, datetime

from ...pipeline.models import BridgeEvent, freeze
from ...runtime import RoutePreview
from ...sources import generic_webhook as generic
from .setup import build_routes

SAMPLE_PAYLOAD = {"message": "Hello from Notify Bridge", "level": "info"}
SAMPLE_TIME = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def sample_event(source_entry_id: str, event_type: str) -> BridgeEvent:
    """Return a delivery of the sample payload as an event of the given type."""
    event_type = event_type or generic.DEFAULT_EVENT_TYPE
    context = {
        "event_type": event_type,
        "payload": {**SAMPLE_PAYLOAD, "event": event_type},
        "headers": {"Content-Type": "application/json"},
    }
    event = generic.GenericEvent(event_type=event_type, context=freeze(context))
    return event.to_bridge_event(source_entry_id, occurred_at=SAMPLE_TIME)


ROUTE_PREVIEW = RoutePreview(routes=build_routes, sample_event=sample_event)
