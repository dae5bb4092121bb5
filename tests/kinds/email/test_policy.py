"""What the policy gives every destination, for e-mail: quiet hours with one digest
mail, the outbox across a restart, the backlog sensor."""

from __future__ import annotations

import asyncio
from datetime import datetime
from functools import partial

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState, ConfigSubentryDataWithId
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.notify_bridge import hub as hub_module
from custom_components.notify_bridge.const import DOMAIN
from custom_components.notify_bridge.hub import NotifyBridgeHub
from custom_components.notify_bridge.pipeline.policy import DeliveryPolicy, RetryPolicy
from custom_components.notify_bridge.runtime import DATA_HUB
from tests.conftest import DEMO_EVENT, route
from tests.fakes.smtp_server import FakeSmtpServer

from .conftest import ALICE, FAMILY_ENTITY, FAMILY_ID, PASSWORD, USER, recipient

pytestmark = pytest.mark.usefixtures("trust_server")
NIGHT = {"quiet_start": "22:00:00", "quiet_end": "07:00:00", "quiet_mode": "defer"}


def local(hour: int, minute: int = 0, day: int = 6) -> datetime:
    """2025-01-<day> at hour:minute in Home Assistant's time zone."""
    return datetime(2025, 1, day, hour, minute, tzinfo=dt_util.get_default_time_zone())


async def advance(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, to: datetime
) -> None:
    """Move the clock and fire every pending timer."""
    freezer.move_to(to)
    async_fire_time_changed(hass, to, fire_all=True)
    await hass.async_block_till_done(wait_background_tasks=True)


@pytest.fixture
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-line retries without sleeping: frozen time would never wake a sleep up."""

    async def instant(_seconds: float) -> None:
        await asyncio.sleep(0)

    monkeypatch.setattr(
        hub_module,
        "DeliveryPolicy",
        partial(
            DeliveryPolicy,
            retry=RetryPolicy(base_delay=0.001, max_delay=0.004, budget=1.0),
            sleep=instant,
        ),
    )


def texts(server: FakeSmtpServer) -> list[str]:
    """Return the text/plain part of every received mail."""
    found = []
    for msg in server.messages():
        part = msg.get_body(preferencelist=("plain",))
        assert part is not None
        found.append(part.get_content().replace("\r\n", "\n"))
    return found


@pytest.fixture
def email_recipients() -> list[ConfigSubentryDataWithId]:
    """Alice, with quiet hours at night."""
    return [recipient(FAMILY_ID, "Family", to=[ALICE], **NIGHT)]


@pytest.fixture
def routes() -> list:
    """The demo event to the family list, as a digest after quiet hours."""
    return [
        route(
            "route_demo",
            "Doorbell",
            {
                "event_type": DEMO_EVENT,
                "destinations": [FAMILY_ENTITY],
                "template": "{{ data.message }}",
                "title_template": "Doorbell",
                "digest": True,
            },
        )
    ]


async def test_quiet_hours_defer_then_one_digest_mail(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    server: FakeSmtpServer,
    source_entry: MockConfigEntry,
    email_entry: MockConfigEntry,
) -> None:
    """Three rings at night wait (backlog 3, status deferred); when quiet hours end
    they arrive as one mail holding all three, and nothing more after."""
    freezer.move_to(local(23))
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    assert email_entry.state is ConfigEntryState.LOADED
    for index in range(3):
        hass.bus.async_fire(DEMO_EVENT, {"message": f"ring <{index}>"})
    await hass.async_block_till_done()
    response = await hass.services.async_call(
        DOMAIN,
        "send",
        {"entity_id": FAMILY_ENTITY, "message": "direct"},
        blocking=True,
        return_response=True,
    )
    assert response["status"] == "deferred"
    assert server.received == []
    assert hass.states.get("sensor.family_backlog").state == "4"

    await advance(hass, freezer, local(6, 59, day=7))
    assert server.received == []
    await advance(hass, freezer, local(7, 1, day=7))
    await advance(hass, freezer, local(8, day=7))
    # The three rings are one digest mail (HTML escaped, text as written); the
    # direct send waited on its own.
    assert [m["Subject"] for m in server.messages()] == ["Doorbell", "direct"]
    digest, direct = texts(server)
    assert digest.startswith("While you were away: 3 notifications from Doorbell.")
    assert (
        digest.index("ring <0>") < digest.index("ring <1>") < digest.index("ring <2>")
    )
    assert direct.strip() == "direct"
    html = server.messages()[0].get_body(preferencelist=("html",))
    assert html is not None and "ring &lt;0&gt;" in html.get_content()
    assert hass.states.get("sensor.family_backlog").state == "0"
    assert await hass.config_entries.async_unload(email_entry.entry_id)


async def test_outbox_across_restart_delivers_once(
    no_waiting: None,
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    server: FakeSmtpServer,
    setup_email: MockConfigEntry,
) -> None:
    """The server is down: the send is `queued`; Home Assistant restarts; the server
    is back: the mail arrives once, and later checks send nothing again."""
    freezer.move_to(local(12))
    entry = setup_email
    port, certificate = server.port, server.certificate
    await server.__aexit__(None, None, None)
    response = await hass.services.async_call(
        DOMAIN,
        "send",
        {"entity_id": FAMILY_ENTITY, "message": "kept for later"},
        blocking=True,
        return_response=True,
    )
    assert response["status"] == "queued"
    assert hass.states.get("sensor.family_backlog").state == "1"
    assert await hass.config_entries.async_unload(entry.entry_id)

    # A new hub reads only what the old one stored, as after a restart.
    hub = NotifyBridgeHub(hass)
    await hub.async_load()
    hass.data[DATA_HUB] = hub
    assert hub.policy.backlog(FAMILY_ID) == 1

    async with FakeSmtpServer(
        users={USER: PASSWORD}, certificate=certificate, port=port
    ) as back:
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done(wait_background_tasks=True)
        await advance(hass, freezer, local(12, 30))
        await advance(hass, freezer, local(13, 30))
        assert [m["Subject"] for m in back.messages()] == ["kept for later"]
        assert hub.policy.backlog(FAMILY_ID) == 0
        assert await hass.config_entries.async_unload(entry.entry_id)
