"""Planka deliveries end to end: real server, bearer token, parsing, templates."""

from __future__ import annotations

import json
from typing import Any

import pytest

from custom_components.notify_bridge.pipeline.models import OutputFormat
from custom_components.notify_bridge.pipeline.render import Renderer
from custom_components.notify_bridge.sources import planka
from custom_components.notify_bridge.sources.ingress import InboundWebhook, PayloadError
from custom_components.notify_bridge.sources.planka import (
    PlankaEvent,
    default_template,
    parse_planka_payload,
    parse_planka_webhook,
    planka_ingress_config,
)

from .conftest import SECRET, Harness
from .payloads import (
    planka_card_created,
    planka_card_moved,
    planka_card_renamed,
    planka_comment_created,
    planka_membership_created,
    planka_task_update,
)

BASE_URL = "https://planka.example/"


@pytest.fixture
def planka_events(harness: Harness) -> list[PlankaEvent | None]:
    """Point the harness at a Planka webhook whose hand-off parses the delivery."""
    events: list[PlankaEvent | None] = []

    async def handoff(inbound: InboundWebhook) -> None:
        events.append(parse_planka_webhook(inbound, base_url=BASE_URL))

    harness.config = planka_ingress_config(SECRET)
    harness.handoff = handoff
    return events


async def deliver(
    harness: Harness, payload: dict[str, Any], token: str = SECRET
) -> int:
    """Post a delivery the way Planka does (JSON, bearer token)."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "planka (+https://planka.example)",
        "Authorization": f"Bearer {token}",
    }
    async with harness.client.post(
        "/hook", data=json.dumps(payload), headers=headers
    ) as response:
        return response.status


async def render(event: PlankaEvent, fmt: OutputFormat = OutputFormat.PLAIN) -> str:
    """Render the event's default template."""
    bridge = event.to_bridge_event("entry-1")
    context = {**bridge.data, "event": {"type": bridge.event_type}}
    return await Renderer().async_render(
        default_template(event.event_type), context, fmt
    )


async def test_card_created(
    harness: Harness, planka_events: list[PlankaEvent | None]
) -> None:
    assert await deliver(harness, planka_card_created()) == 202
    (event,) = planka_events
    assert event is not None
    assert event.event_type == planka.CARD_CREATED
    assert event.planka_event == "cardCreate"
    assert (event.board_id, event.card_id, event.user) == ("10", "500", "Carol")
    assert event.notify_by_default
    assert await render(event) == (
        'Carol created card "Fix the <sink>" in To do on Chores\n'
        "https://planka.example/cards/500"
    )
    assert "Fix the &lt;sink&gt;" in await render(event, OutputFormat.HTML)


async def test_card_moved_reads_as_one_move(
    harness: Harness, planka_events: list[PlankaEvent | None]
) -> None:
    assert await deliver(harness, planka_card_moved()) == 202
    # Planka's activity record of the same move is dropped, not notified twice.
    action = {"event": "actionCreate", "data": {"item": {"type": "moveCard"}}}
    assert await deliver(harness, action) == 202

    moved, derived = planka_events
    assert derived is None
    assert moved is not None
    assert moved.event_type == planka.CARD_MOVED
    assert moved.context["from_list"]["name"] == "To do"
    assert moved.context["to_list"]["name"] == "Done"
    assert (await render(moved)).startswith(
        'Carol moved "Fix the <sink>" from To do to Done on Chores'
    )


async def test_card_edit_in_place_is_an_update() -> None:
    event = parse_planka_payload(planka_card_renamed())
    assert event is not None
    assert event.event_type == planka.CARD_UPDATED
    assert not event.notify_by_default
    assert await render(event) == 'Carol updated "Fix the <sink>" on Chores'


async def test_comment_created(
    harness: Harness, planka_events: list[PlankaEvent | None]
) -> None:
    assert await deliver(harness, planka_comment_created()) == 202
    (event,) = planka_events
    assert event is not None
    assert event.event_type == planka.COMMENT_CREATED
    assert event.card_id == "500"
    assert await render(event) == (
        'Carol commented on "Fix the <sink>" on Chores:\nOn it!\n'
        "https://planka.example/cards/500"
    )


@pytest.mark.parametrize(
    ("completed", "was_completed", "event_type"),
    [
        (True, False, planka.TASK_COMPLETED),
        (True, True, planka.TASK_UPDATED),
        (False, True, planka.TASK_UPDATED),
    ],
)
async def test_task_update(
    completed: bool, was_completed: bool, event_type: str
) -> None:
    event = parse_planka_payload(
        planka_task_update(completed=completed, was_completed=was_completed)
    )
    assert event is not None
    assert event.event_type == event_type
    assert event.notify_by_default is (event_type == planka.TASK_COMPLETED)
    text = await render(event)
    assert '"Buy soap" on "Fix the <sink>" (Chores)' in text


async def test_card_membership_created() -> None:
    event = parse_planka_payload(planka_membership_created())
    assert event is not None
    assert event.event_type == planka.CARD_MEMBER_ADDED
    assert await render(event) == 'Carol added Dave to "Fix the <sink>" on Chores'


async def test_unknown_event_uses_fallback() -> None:
    payload = {
        "event": "boardUpdate",
        "data": {"item": {"id": "10", "name": "Chores"}, "included": {}},
        "user": {"username": "carol"},
    }
    event = parse_planka_payload(payload)
    assert event is not None
    assert event.event_type == "boardUpdate"
    assert event.board_id is None
    assert not event.notify_by_default
    assert await render(event) == "carol: boardUpdate on"


async def test_wrong_token_is_refused_unread(
    harness: Harness, planka_events: list[PlankaEvent | None]
) -> None:
    assert await deliver(harness, planka_card_created(), token="guess") == 401
    assert harness.last.counted_bytes == 0
    assert planka_events == []


@pytest.mark.parametrize(
    "payload",
    [{"data": {}}, {"event": "cardCreate"}, {"event": "cardCreate", "data": []}],
    ids=["no-event", "no-data", "data-not-object"],
)
async def test_malformed_planka_payload_is_400(
    harness: Harness, planka_events: list[PlankaEvent | None], payload: dict[str, Any]
) -> None:
    assert await deliver(harness, payload) == 400
    assert planka_events == []


def test_parse_raises_payload_error_directly() -> None:
    with pytest.raises(PayloadError):
        parse_planka_payload({"event": ""})


def test_bridge_event_for_routing_by_board() -> None:
    event = parse_planka_payload(planka_card_created())
    assert event is not None
    bridge = event.to_bridge_event("entry-2", request_id="req-1")
    assert bridge.source_kind == "planka"
    assert bridge.event_type == planka.CARD_CREATED
    assert bridge.data["board_id"] == "10"
    assert bridge.request_id == "req-1"
    assert event.context["card"]["url"] is None
    json.dumps(dict(bridge.data))
