"""What a board route is previewed with: a sample delivery of each event type,
parsed by the Planka parser (so the sample has exactly the keys a real one has)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ...pipeline.models import BridgeEvent
from ...runtime import RoutePreview
from ...sources import planka
from .setup import build_routes

_INCLUDED = {
    "projects": [{"id": "p1", "name": "Home"}],
    "boards": [{"id": "b1", "name": "Chores"}],
    "lists": [{"id": "l2", "name": "Doing"}],
    "cards": [{"id": "c1", "name": "Water the tomatoes", "listId": "l2"}],
    "users": [{"id": "u2", "name": "Bob"}],
}
# Planka's event name and the item of each of our event types.
_DELIVERIES: dict[str, tuple[str, dict[str, Any], dict[str, Any] | None]] = {
    planka.CARD_CREATED: ("cardCreate", {"listId": "l2"}, None),
    planka.CARD_MOVED: ("cardUpdate", {"listId": "l2"}, {"listId": "l1"}),
    planka.CARD_UPDATED: ("cardUpdate", {"listId": "l2"}, None),
    planka.COMMENT_CREATED: ("commentCreate", {"id": "m1", "text": "Done!"}, None),
    planka.TASK_COMPLETED: (
        "taskUpdate",
        {"id": "t1", "name": "Fill the can", "isCompleted": True},
        None,
    ),
    planka.TASK_UPDATED: (
        "taskUpdate",
        {"id": "t1", "name": "Fill the can", "isCompleted": False},
        None,
    ),
    planka.CARD_MEMBER_ADDED: ("cardMembershipCreate", {"userId": "u2"}, None),
}
SAMPLE_TIME = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def sample_payload(event_type: str) -> dict[str, Any]:
    """Return a Planka delivery that parses as the event type."""
    name, item, before = _DELIVERIES.get(event_type, (event_type, {}, None))
    card = {"id": "c1", "name": "Water the tomatoes", "boardId": "b1"}
    payload: dict[str, Any] = {
        "event": name,
        "user": {"id": "u1", "name": "Alice"},
        "data": {"item": {**card, **item}, "included": _INCLUDED},
    }
    if before is not None:
        included = {"lists": [{"id": "l1", "name": "To do"}]}
        payload["prevData"] = {"item": {**card, **before}, "included": included}
    return payload


def sample_event(source_entry_id: str, event_type: str) -> BridgeEvent:
    """Return the sample delivery as an event of the given type."""
    parsed = planka.parse_planka_payload(sample_payload(event_type)) or (
        # A derived event name (never one a route lists): a new card instead.
        planka.parse_planka_payload(sample_payload(planka.CARD_CREATED))
    )
    if parsed is None:
        raise ValueError(event_type)
    return parsed.to_bridge_event(
        source_entry_id, occurred_at=SAMPLE_TIME, request_id="sample"
    )


ROUTE_PREVIEW = RoutePreview(routes=build_routes, sample_event=sample_event)
