"""Fixtures of the Telegram target tests: the real fake Bot API and a real HA core."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from homeassistant.config_entries import ConfigEntryState, ConfigSubentryDataWithId
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.notify_bridge.const import DOMAIN, ENTRY_VERSION
from custom_components.notify_bridge.kinds.telegram import setup as telegram_kind
from custom_components.notify_bridge.targets.telegram import RetryPolicy
from custom_components.notify_bridge.targets.telegram.setup import (
    CONF_ALLOWED_MEDIA_HOSTS,
    destination_unique_id,
)
from tests.common import FAST, enable_statistics, typed
from tests.fakes.telegram_server import FakeTelegramServer

TG_ENTRY_ID = "telegram_entry"
BOT_ID = 123456
BOT_USERNAME = "notify_bridge_test_bot"
FORUM_CHAT = -1001234567890
TOPIC_DEST_ID = "dest_topic"
TOPIC_ENTITY = "notify.family_topic"
PRIVATE_DEST_ID = "dest_ann"
PRIVATE_ENTITY = "notify.ann"


@pytest.fixture(autouse=True)
def fast_telegram(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the sender's retries and pacing, but in milliseconds."""
    monkeypatch.setattr(telegram_kind, "RATE_LIMITS", FAST)
    monkeypatch.setattr(telegram_kind, "SEND_RETRY", RetryPolicy(base_delay=0.001))


@pytest.fixture
def allow_loopback_media(hass: HomeAssistant, tg_entry: MockConfigEntry) -> None:
    """Let media downloads reach the fake's media server on 127.0.0.1.

    Through the entry's own option, as a user would allow a camera on the LAN; it
    must be requested before the entry is set up (listed in usefixtures).
    """
    assert tg_entry.state is ConfigEntryState.NOT_LOADED
    hass.config_entries.async_update_entry(
        tg_entry, data={**tg_entry.data, CONF_ALLOWED_MEDIA_HOSTS: "127.0.0.1"}
    )


@pytest.fixture
async def server(socket_enabled: None) -> AsyncIterator[FakeTelegramServer]:
    """The fake Bot API; every test also asserts no call broke the Bot API spec."""
    async with FakeTelegramServer(bot_id=BOT_ID, username=BOT_USERNAME) as fake:
        yield fake
        assert fake.spec_violations == []


def tg_destination(
    subentry_id: str, title: str, chat_id: int | str, **options: Any
) -> ConfigSubentryDataWithId:
    """Describe a Telegram destination subentry."""
    data = {
        "chat_id": str(chat_id),
        "disable_notification": False,
        "send_large_videos_as_documents": False,
        **options,
    }
    return ConfigSubentryDataWithId(
        subentry_id=subentry_id,
        subentry_type="destination",
        title=title,
        unique_id=destination_unique_id(chat_id, options.get("message_thread_id")),
        data=data,
    )


@pytest.fixture
def tg_destinations() -> list[ConfigSubentryDataWithId]:
    """A forum topic posted to silently, and a private chat."""
    return [
        tg_destination(
            TOPIC_DEST_ID,
            "Family topic",
            FORUM_CHAT,
            message_thread_id=5,
            disable_notification=True,
        ),
        tg_destination(PRIVATE_DEST_ID, "Ann", 42),
    ]


@pytest.fixture
def tg_options() -> dict[str, Any]:
    """Extra entry data of the Telegram entry (tests may override)."""
    return {}


def telegram_entry(
    hass: HomeAssistant,
    server: FakeTelegramServer,
    destinations: list[ConfigSubentryDataWithId],
    **extra: Any,
) -> MockConfigEntry:
    """Add a Telegram target entry whose bot talks to the fake (self-hosted URL)."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        version=ENTRY_VERSION,
        title=f"@{BOT_USERNAME}",
        data={
            "kind": "telegram",
            "bot_token": server.token,
            "api_base_url": server.api_root,
            "bot_id": BOT_ID,
            "username": BOT_USERNAME,
            **extra,
        },
        unique_id=str(BOT_ID),
        entry_id=TG_ENTRY_ID,
        subentries_data=typed("telegram", destinations),
    )
    entry.add_to_hass(hass)
    enable_statistics(hass, entry)
    return entry


@pytest.fixture
def tg_entry(
    hass: HomeAssistant,
    server: FakeTelegramServer,
    tg_destinations: list[ConfigSubentryDataWithId],
    tg_options: dict[str, Any],
) -> MockConfigEntry:
    """The Telegram target entry (not set up yet)."""
    return telegram_entry(hass, server, tg_destinations, **tg_options)


@pytest.fixture
async def setup_telegram(
    hass: HomeAssistant, tg_entry: MockConfigEntry
) -> AsyncIterator[MockConfigEntry]:
    """Set up Notify Bridge with the Telegram entry; unload it (closing the bot) after."""
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    yield tg_entry
    if tg_entry.state is ConfigEntryState.LOADED:
        assert await hass.config_entries.async_unload(tg_entry.entry_id)
        await hass.async_block_till_done()


def sends(server: FakeTelegramServer) -> list[Any]:
    """Return the successful send calls the fake received."""
    return server.messages
