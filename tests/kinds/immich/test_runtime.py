"""The Immich runtime data: typed, and printing no API key."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant

from custom_components.notify_bridge.kinds.immich.setup import ImmichRuntime
from tests.common import assert_no_secret_printed, reachable_reprs
from tests.fakes.immich_server import API_KEY, FakeImmichServer

from .conftest import immich_entry, immich_route, setup_all


async def test_runtime_never_prints_the_api_key(
    hass: HomeAssistant, target_entry: Any, v3: FakeImmichServer
) -> None:
    """repr() of the runtime and of every object of ours it reaches hides the key."""
    album = v3.create_album("One", 1)
    entry = immich_entry(hass, v3, [immich_route([album])])
    await setup_all(hass)
    runtime = entry.runtime_data
    assert isinstance(runtime, ImmichRuntime)
    reprs = reachable_reprs(runtime)
    # The walk reaches the client, which holds the key.
    assert "runtime_data.coordinator.client" in reprs
    assert runtime.coordinator.client._api_key == API_KEY
    assert assert_no_secret_printed(runtime, [API_KEY]) > 3
