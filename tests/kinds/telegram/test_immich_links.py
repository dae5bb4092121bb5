"""Album links that reach a Telegram chat never carry the Immich URL's credentials."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.notify_bridge.net import basic_auth_header
from tests.fakes.immich_server import FakeImmichServer
from tests.fakes.telegram_server import FakeTelegramServer

from ..immich.conftest import immich_entry, immich_route, poll
from .conftest import PRIVATE_ENTITY, sends

USER = "proxyuser"
PASSWORD = "pr0xy-Pa55word"


@pytest.fixture
async def immich(socket_enabled: None) -> AsyncIterator[FakeImmichServer]:
    """A fake Immich v3 behind a basic-auth proxy."""
    fake = FakeImmichServer(version=3)
    await fake.start()
    fake.proxy_auth = basic_auth_header(USER, PASSWORD)
    yield fake
    await fake.close()


async def test_album_link_in_the_chat_has_no_credentials(
    hass: HomeAssistant,
    tg_entry: MockConfigEntry,
    immich: FakeImmichServer,
    server: FakeTelegramServer,
    setup_telegram: Any,
) -> None:
    """The message text and its link name the server without user or password."""
    album = immich.create_album("Holiday", 1)
    entry = immich_entry(
        hass,
        immich,
        [immich_route([album], destinations=[PRIVATE_ENTITY], media="none")],
    )
    hass.config_entries.async_update_entry(
        entry,
        data={
            **entry.data,
            "url": immich.url.replace("http://", f"http://{USER}:{PASSWORD}@"),
        },
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    immich.add_assets(album, 1)
    await poll(hass)

    (call,) = sends(server)
    assert call.params["chat_id"] == 42
    text = str(call.params)
    assert f"{immich.url}/albums/{album}" in text
    assert PASSWORD not in text
    assert f"{USER}:" not in text
