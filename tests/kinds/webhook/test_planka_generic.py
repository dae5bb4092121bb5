"""Planka and generic webhook deliveries through Home Assistant's HTTP server."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)

from custom_components.notify_bridge.const import EVENT_BRIDGE_EVENT

from ...sources.webhook.payloads import (
    planka_card_created,
    planka_card_moved,
    planka_comment_created,
)
from .conftest import (
    GENERIC_SECRET,
    GENERIC_WEBHOOK_ID,
    PLANKA_TOKEN,
    PLANKA_WEBHOOK_ID,
    webhook_route,
)

PLANKA_URL = f"/api/webhook/{PLANKA_WEBHOOK_ID}"
GENERIC_URL = f"/api/webhook/{GENERIC_WEBHOOK_ID}"


def messages(calls: list) -> list[str]:
    """Return the messages the legacy notify service received."""
    return [call.data["message"] for call in calls]


async def post_planka(
    client: Any, payload: dict[str, Any], token: str | None = PLANKA_TOKEN
) -> Any:
    """Post a Planka delivery with its bearer token."""
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return await client.post(PLANKA_URL, data=json.dumps(payload), headers=headers)


async def test_planka_card_created_moved_comment(
    hass: HomeAssistant,
    setup_webhooks: Any,
    planka_entry: MockConfigEntry,
    legacy_notify_calls: list,
) -> None:
    """Card created, card moved and a comment each become one notification."""
    client = await setup_webhooks(planka_entry)
    for payload in (
        planka_card_created(),
        planka_card_moved(),
        planka_comment_created(),
    ):
        response = await post_planka(client, payload)
        assert response.status == 202
    await hass.async_block_till_done()
    created, moved, comment = messages(legacy_notify_calls)
    assert created.startswith("Carol created card")
    assert "https://planka.example/cards/" in created
    assert "moved" in moved
    assert "from To do to Done" in moved
    assert "commented on" in comment


@pytest.mark.parametrize("token", [None, "wrong-token-0123456789"])
async def test_planka_token_refused(
    hass: HomeAssistant,
    setup_webhooks: Any,
    planka_entry: MockConfigEntry,
    legacy_notify_calls: list,
    token: str | None,
) -> None:
    """A missing or wrong bearer token gets 401."""
    client = await setup_webhooks(planka_entry)
    response = await post_planka(client, planka_card_created(), token)
    await hass.async_block_till_done()
    assert response.status == 401
    assert legacy_notify_calls == []


@pytest.mark.parametrize(
    "planka_routes",
    [[webhook_route({"boards": ["Chores"], "events": ["card_moved"]})]],
)
async def test_planka_route_by_board_and_event(
    hass: HomeAssistant,
    setup_webhooks: Any,
    planka_entry: MockConfigEntry,
    legacy_notify_calls: list,
) -> None:
    """Only the picked event of the picked board is notified."""
    client = await setup_webhooks(planka_entry)
    other_board = planka_card_moved()
    other_board["data"]["included"]["boards"] = [{"id": "99", "name": "Work"}]
    for payload in (planka_card_created(), planka_card_moved(), other_board):
        assert (await post_planka(client, payload)).status == 202
    await hass.async_block_till_done()
    assert len(legacy_notify_calls) == 1
    assert "moved" in legacy_notify_calls[0].data["message"]


@pytest.mark.parametrize(
    "planka_routes",
    [[webhook_route({"boards": ["10"], "events": ["card_created"]})]],
)
async def test_planka_route_by_board_id(
    hass: HomeAssistant,
    setup_webhooks: Any,
    planka_entry: MockConfigEntry,
    legacy_notify_calls: list,
) -> None:
    """A board can be named by its id."""
    client = await setup_webhooks(planka_entry)
    assert (await post_planka(client, planka_card_created())).status == 202
    await hass.async_block_till_done()
    assert len(legacy_notify_calls) == 1


async def test_planka_derived_events_dropped(
    hass: HomeAssistant,
    setup_webhooks: Any,
    planka_entry: MockConfigEntry,
    legacy_notify_calls: list,
) -> None:
    """Planka's activity-log echo is accepted and not notified twice."""
    client = await setup_webhooks(planka_entry)
    payload = planka_card_moved()
    payload["event"] = "actionCreate"
    assert (await post_planka(client, payload)).status == 202
    await hass.async_block_till_done()
    assert legacy_notify_calls == []


def signed(
    payload: dict[str, Any], *, ts: float | None = None, secret: str = GENERIC_SECRET
) -> tuple[bytes, dict[str, str]]:
    """Return a generic delivery signed as `<timestamp>.<body>` with a prefix."""
    body = json.dumps(payload).encode()
    stamp = str(int(time.time() if ts is None else ts))
    digest = hmac.new(
        secret.encode(), stamp.encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    return body, {
        "Content-Type": "application/json",
        "X-Timestamp": stamp,
        "X-Signature-256": f"sha256={digest}",
    }


FAILED = {"event": {"type": "deploy.failed", "reason": "disk full"}, "service": "api"}


async def test_generic_hmac_with_timestamp(
    hass: HomeAssistant,
    setup_webhooks: Any,
    generic_entry: MockConfigEntry,
    legacy_notify_calls: list,
) -> None:
    """A signed event of a routed type renders the template over the payload."""
    client = await setup_webhooks(generic_entry)
    bridge_events = async_capture_events(hass, EVENT_BRIDGE_EVENT)
    body, headers = signed(FAILED)
    response = await client.post(GENERIC_URL, data=body, headers=headers)
    other_body, other_headers = signed({"event": {"type": "deploy.ok"}})
    other = await client.post(GENERIC_URL, data=other_body, headers=other_headers)
    await hass.async_block_till_done()
    assert (response.status, other.status) == (202, 202)
    assert messages(legacy_notify_calls) == ["Deploy of api failed: disk full"]
    assert [event.data["event_type"] for event in bridge_events] == ["deploy.failed"]
    # The source's event entity fired for the routed event only, with its payload.
    state = hass.states.get("event.deploys_routed_event")
    assert state.attributes["event_type"] == "deploy.failed"
    assert state.attributes["data"]["payload"]["event"]["type"] == "deploy.failed"
    assert "deploy.ok" not in state.attributes["event_types"]


@pytest.mark.parametrize(
    ("age", "secret", "prefix"),
    [
        (600, GENERIC_SECRET, True),  # outside ±5 min
        (0, "another-secret-0123456789", True),  # wrong key
        (0, GENERIC_SECRET, False),  # prefix required
    ],
)
async def test_generic_refusals(
    hass: HomeAssistant,
    setup_webhooks: Any,
    generic_entry: MockConfigEntry,
    legacy_notify_calls: list,
    age: int,
    secret: str,
    prefix: bool,
) -> None:
    """Stale timestamps, wrong keys and a missing prefix get 401."""
    client = await setup_webhooks(generic_entry)
    # An age, not a time, in the parameters: test ids stay the same on every worker.
    body, headers = signed(FAILED, ts=time.time() - age, secret=secret)
    if not prefix:
        headers["X-Signature-256"] = headers["X-Signature-256"].removeprefix("sha256=")
    response = await client.post(GENERIC_URL, data=body, headers=headers)
    await hass.async_block_till_done()
    assert response.status == 401
    assert legacy_notify_calls == []


async def test_generic_idempotency_key_replay(
    hass: HomeAssistant,
    setup_webhooks: Any,
    generic_entry: MockConfigEntry,
    legacy_notify_calls: list,
) -> None:
    """The configured idempotency header makes a repeat a no-op."""
    client = await setup_webhooks(generic_entry)
    body, headers = signed(FAILED)
    headers["Idempotency-Key"] = "deploy-42"
    statuses = [
        (await client.post(GENERIC_URL, data=body, headers=headers)).status
        for _ in range(2)
    ]
    await hass.async_block_till_done()
    assert statuses == [202, 200]
    assert len(legacy_notify_calls) == 1


@pytest.mark.parametrize(
    ("generic_data", "generic_routes"),
    [
        (
            {
                "kind": "webhook",
                "webhook_id": GENERIC_WEBHOOK_ID,
                "auth_mode": "none",
                "local_only": True,
                "event_field": "kind",
            },
            [
                webhook_route(
                    {
                        "event_types": [],
                        "event_data": {"level": "high"},
                        "template": "{{ event_type }}: {{ payload.text }}",
                    }
                )
            ],
        )
    ],
)
async def test_generic_local_only_form_body_and_match(
    hass: HomeAssistant,
    setup_webhooks: Any,
    generic_entry: MockConfigEntry,
    legacy_notify_calls: list,
) -> None:
    """No auth on a local-only webhook; a form body; a payload value match."""
    client = await setup_webhooks(generic_entry)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    high = await client.post(
        GENERIC_URL, data="kind=alarm&level=high&text=Smoke", headers=form
    )
    low = await client.post(
        GENERIC_URL, data="kind=alarm&level=low&text=Dust", headers=form
    )
    await hass.async_block_till_done()
    assert (high.status, low.status) == (202, 202)
    assert messages(legacy_notify_calls) == ["alarm: Smoke"]


@pytest.mark.parametrize(
    "generic_data",
    [
        {
            "kind": "webhook",
            "webhook_id": GENERIC_WEBHOOK_ID,
            "auth_mode": "bearer",
            "secret": GENERIC_SECRET,
            "local_only": False,
            "token_header": "X-Token",
        }
    ],
)
async def test_generic_bearer_custom_header(
    hass: HomeAssistant,
    setup_webhooks: Any,
    generic_entry: MockConfigEntry,
    legacy_notify_calls: list,
) -> None:
    """Bearer mode with a custom header carries the bare token."""
    client = await setup_webhooks(generic_entry)
    body = json.dumps(FAILED)
    ok = await client.post(
        GENERIC_URL,
        data=body,
        headers={"Content-Type": "application/json", "X-Token": GENERIC_SECRET},
    )
    bad = await client.post(
        GENERIC_URL,
        data=body,
        headers={"Content-Type": "application/json", "X-Token": "nope"},
    )
    unsupported = await client.post(
        GENERIC_URL,
        data=b"x",
        headers={"Content-Type": "text/plain", "X-Token": GENERIC_SECRET},
    )
    await hass.async_block_till_done()
    assert (ok.status, bad.status, unsupported.status) == (202, 401, 415)
    assert messages(legacy_notify_calls) == ["Deploy of api failed: disk full"]


@pytest.mark.parametrize(
    "planka_routes",
    [[webhook_route({"boards": ["chores", "CHORES"], "events": ["card_created"]})]],
)
async def test_planka_board_name_in_any_case(
    hass: HomeAssistant,
    setup_webhooks: Any,
    planka_entry: MockConfigEntry,
    legacy_notify_calls: list,
) -> None:
    """A board named "Chores" matches a route typed "chores", once; display kept."""
    client = await setup_webhooks(planka_entry)
    assert (await post_planka(client, planka_card_created())).status == 202
    await hass.async_block_till_done()
    assert len(legacy_notify_calls) == 1
    assert "on Chores" in legacy_notify_calls[0].data["message"]
