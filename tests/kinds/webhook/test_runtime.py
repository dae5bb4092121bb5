"""The runtime data of webhook sources: typed, and printing no secret."""

from __future__ import annotations

from typing import Any

from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.notify_bridge.kinds.shared.webhook_source import (
    WebhookSourceRuntime,
)
from tests.common import assert_no_secret_printed, reachable_reprs

from .conftest import GENERIC_SECRET, PLANKA_TOKEN


async def test_runtime_never_prints_the_secret(
    setup_webhooks: Any, planka_entry: MockConfigEntry, generic_entry: MockConfigEntry
) -> None:
    """repr() of the runtime and of every object of ours it reaches hides it."""
    await setup_webhooks(planka_entry, generic_entry)
    for entry, secret in (
        (planka_entry, PLANKA_TOKEN),
        (generic_entry, GENERIC_SECRET),
    ):
        runtime = entry.runtime_data
        assert isinstance(runtime, WebhookSourceRuntime)
        assert "runtime_data.endpoint.ingress" in reachable_reprs(runtime)
        assert assert_no_secret_printed(runtime, [secret]) > 3
