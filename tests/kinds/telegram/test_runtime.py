"""The Telegram runtime data: typed, and printing no token."""

from __future__ import annotations

from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.notify_bridge.kinds.telegram.setup import TelegramRuntime
from tests.common import assert_no_secret_printed, reachable_reprs
from tests.fakes.telegram_server import FakeTelegramServer


async def test_runtime_never_prints_the_token(
    server: FakeTelegramServer, setup_telegram: MockConfigEntry
) -> None:
    """repr() of the runtime and of every object of ours it reaches hides the token."""
    runtime = setup_telegram.runtime_data
    assert isinstance(runtime, TelegramRuntime)
    # PTB's own Bot repr quotes the token: this is what must not leak through ours.
    assert server.token in repr(runtime.bot.bot)
    reprs = reachable_reprs(runtime)
    assert "runtime_data.bot" in reprs
    assert any(path.endswith(".destination") for path in reprs)
    assert assert_no_secret_printed(runtime, [server.token]) > 3
