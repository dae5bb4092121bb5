"""The e-mail runtime data: typed, and printing no password, in reprs or logs."""

from __future__ import annotations

import logging

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.notify_bridge.kinds.email.setup import EmailRuntime
from tests.common import assert_no_secret_printed, reachable_reprs
from tests.fakes.smtp_server import FakeSmtpServer

from .conftest import FAMILY_ENTITY, PASSWORD, USER

pytestmark = pytest.mark.usefixtures("trust_server")


async def test_runtime_never_prints_the_password(
    server: FakeSmtpServer, setup_email: MockConfigEntry
) -> None:
    """repr() of the runtime and of every object of ours it reaches hides it."""
    runtime = setup_email.runtime_data
    assert isinstance(runtime, EmailRuntime)
    assert runtime.sender.settings.password == PASSWORD
    reprs = reachable_reprs(runtime)
    assert "runtime_data.sender" in reprs
    assert "runtime_data.sender.settings" in reprs
    assert any(path.endswith(".destination") for path in reprs)
    assert assert_no_secret_printed(runtime, [PASSWORD]) > 3


@pytest.mark.usefixtures("every_logger_at_debug")
async def test_password_never_logged(
    hass: HomeAssistant,
    server: FakeSmtpServer,
    setup_email: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A send, then a refused login (the failure is logged): no line has it."""
    await hass.services.async_call(
        "notify",
        "send_message",
        {"entity_id": FAMILY_ENTITY, "message": "hi"},
        blocking=True,
    )
    server.users[USER] = "other"
    server.drop_all()
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(
            "notify",
            "send_message",
            {"entity_id": FAMILY_ENTITY, "message": "again"},
            blocking=True,
        )
    await hass.async_block_till_done()
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    lines = [formatter.format(record) for record in caplog.records]
    assert any("refused the login" in line for line in lines)
    assert not [line for line in lines if PASSWORD in line]
