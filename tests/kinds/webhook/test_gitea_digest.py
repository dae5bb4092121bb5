"""A scheduled Gitea route: deliveries wait, the digest says what they add up to."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigSubentryDataWithId
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.notify_bridge.const import DOMAIN

from ...sources.webhook.payloads import push_payload, workflow_run_payload
from .conftest import ROUTE_ID, webhook_route
from .test_gitea_webhook import messages, post_gitea


@pytest.fixture
def gitea_routes() -> list[ConfigSubentryDataWithId]:
    """One route, digest only, daily at 08:00."""
    return [
        webhook_route(
            {
                "repositories": [],
                "events": [],
                "notable_only": True,
                "schedule": {"kind": "daily", "at": "08:00"},
                "digest_mode": "instead",
            }
        )
    ]


async def test_pushes_and_a_failure_in_one_line(
    hass: HomeAssistant,
    setup_webhooks: Any,
    gitea_entry: MockConfigEntry,
    legacy_notify_calls: list,
) -> None:
    """Two pushes and a failed workflow: nothing at once, then one digest line."""
    client = await setup_webhooks(gitea_entry)
    for delivery, after in (("d-1", "c" * 40), ("d-2", "d" * 40)):
        payload = {**push_payload(), "after": after}
        response = await post_gitea(client, "push", payload, delivery=delivery)
        assert response.status == 202
    await post_gitea(client, "workflow_run", workflow_run_payload("failure"))
    await hass.async_block_till_done()
    assert legacy_notify_calls == []
    await hass.services.async_call(
        DOMAIN, "send_digest", {"route": ROUTE_ID}, blocking=True
    )
    [message] = messages(legacy_notify_calls)
    header, line = message.splitlines()
    assert header.startswith("Route: 3 events since")
    assert line == "6 commits to main in acme/tools, 1 failed workflow"
