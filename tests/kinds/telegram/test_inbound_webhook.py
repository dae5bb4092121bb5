"""Receiving by webhook through Home Assistant's webhook component, and switching."""

from __future__ import annotations

import json
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.notify_bridge.const import DOMAIN, EVENT_COMMAND
from custom_components.notify_bridge.sources.ingress import MAX_BODY_BYTES
from custom_components.notify_bridge.targets.telegram.webhook import SECRET_HEADER
from tests.common import assert_no_secret_printed
from tests.fakes.telegram_server import FakeTelegramServer

from .inbound_common import STRANGER, capture, event_entity, replies_to, wait_for

ANN = 42
EXTERNAL = "https://bridge.example.com"
JSON = {"Content-Type": "application/json"}
# Telegram counts any 2xx as delivered; the ingress answers 202 Accepted.
ACCEPTED = 202


def update(update_id: int, chat_id: int, text: str) -> dict[str, Any]:
    """Return a Telegram update carrying a message."""
    message: dict[str, Any] = {
        "message_id": 500 + update_id,
        "date": 1_800_000_000,
        "chat": {"id": chat_id, "type": "private", "first_name": "U"},
        "from": {"id": chat_id, "is_bot": False, "first_name": "U"},
        "text": text,
    }
    if text.startswith("/"):
        length = len(text.split(maxsplit=1)[0])
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
    return {"update_id": update_id, "message": message}


@pytest.fixture
async def webhook_entry(
    hass: HomeAssistant, tg_entry: MockConfigEntry
) -> MockConfigEntry:
    """The Telegram entry receiving by webhook, set up, with an external URL."""
    await hass.config.async_update(external_url=EXTERNAL)
    hass.config_entries.async_update_entry(
        tg_entry, options={"receive_updates": "webhook"}
    )
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    assert tg_entry.state is ConfigEntryState.LOADED
    return tg_entry


def _path(server: FakeTelegramServer) -> str:
    assert server.webhook_url.startswith(f"{EXTERNAL}/api/webhook/")
    return server.webhook_url.removeprefix(EXTERNAL)


async def test_webhook_set_with_generated_secret(
    hass: HomeAssistant,
    server: FakeTelegramServer,
    webhook_entry: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """setWebhook gets the external URL and a secret; an update fires the event."""
    assert server.webhook_secret and len(server.webhook_secret) >= 32
    assert server.webhook_options["allowed_updates"] == ["message", "callback_query"]
    client = await hass_client_no_auth()
    fired = capture(hass, EVENT_COMMAND)
    response = await client.post(
        _path(server),
        data=json.dumps(update(1, ANN, "/garage open")),
        headers={SECRET_HEADER: server.webhook_secret, **JSON},
    )
    assert response.status == ACCEPTED
    await hass.async_block_till_done()
    assert [e.data["command"] for e in fired] == ["garage"]
    state = hass.states.get(event_entity(hass, "dest_ann"))
    assert state is not None and state.attributes["args"] == ["open"]
    # Telegram redelivers what it got no answer for: handled once only.
    await client.post(
        _path(server),
        data=json.dumps(update(1, ANN, "/garage open")),
        headers={SECRET_HEADER: server.webhook_secret, **JSON},
    )
    await hass.async_block_till_done()
    assert len(fired) == 1


async def test_forged_secret_is_401_without_reading_the_body(
    hass: HomeAssistant,
    server: FakeTelegramServer,
    webhook_entry: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """A wrong or missing secret: 401, no body byte read, nothing happens."""
    client = await hass_client_no_auth()
    fired = capture(hass, EVENT_COMMAND)
    body = json.dumps(update(1, ANN, "/garage open"))
    for headers in ({SECRET_HEADER: "forged" * 8, **JSON}, JSON):
        response = await client.post(_path(server), data=body, headers=headers)
        assert response.status == 401
    await hass.async_block_till_done()
    stats = webhook_entry.runtime_data.inbound.webhook.stats
    assert stats.unauthorized == 2 and stats.body_bytes_read == 0
    assert fired == [] and replies_to(server, ANN) == []


async def test_webhook_stranger_and_builtin(
    hass: HomeAssistant,
    server: FakeTelegramServer,
    webhook_entry: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """A stranger's command does nothing; a destination's /help is answered."""
    client = await hass_client_no_auth()
    fired = capture(hass, EVENT_COMMAND)
    headers = {SECRET_HEADER: server.webhook_secret or "", **JSON}
    for update_id, chat, text in ((1, STRANGER, "/garage"), (2, ANN, "/help")):
        response = await client.post(
            _path(server),
            data=json.dumps(update(update_id, chat, text)),
            headers=headers,
        )
        assert response.status == ACCEPTED
    await hass.async_block_till_done()
    assert fired == [] and replies_to(server, STRANGER) == []
    assert "Notify Bridge commands" in replies_to(server, ANN)[0]


async def test_webhook_without_external_url_fails_setup(
    hass: HomeAssistant, server: FakeTelegramServer, tg_entry: MockConfigEntry
) -> None:
    """No external HTTPS URL: the entry says why and sets no webhook."""
    hass.config_entries.async_update_entry(
        tg_entry, options={"receive_updates": "webhook"}
    )
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    assert tg_entry.state is ConfigEntryState.SETUP_ERROR
    assert tg_entry.reason and "external" in tg_entry.reason
    assert server.webhook_url == ""


async def test_options_switch_modes(
    hass: HomeAssistant, server: FakeTelegramServer, tg_entry: MockConfigEntry
) -> None:
    """Polling → webhook sets it; webhook → polling deletes it; off deletes it too."""
    hass.config_entries.async_update_entry(
        tg_entry, options={"receive_updates": "polling"}
    )
    assert await async_setup_component(hass, DOMAIN, {})
    await wait_for(hass, lambda: server.long_polling)

    async def choose(mode: str, users: str = "") -> dict[str, Any]:
        result = await hass.config_entries.options.async_init(tg_entry.entry_id)
        assert result["type"] is FlowResultType.FORM
        return await hass.config_entries.options.async_configure(
            result["flow_id"],
            {
                "receive_updates": mode,
                "allowed_user_ids": users,
                "commands_per_minute": 10,
            },
        )

    result = await choose("webhook")
    assert result["errors"] == {"receive_updates": "telegram_no_external_url"}
    result = await choose("polling", "12, x")
    assert result["errors"] == {"allowed_user_ids": "telegram_invalid_user_ids"}
    await hass.config.async_update(external_url=EXTERNAL)
    result = await choose("webhook", "12, 34")
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert tg_entry.options["allowed_user_ids"] == [12, 34]
    await wait_for(hass, lambda: server.webhook_url.startswith(EXTERNAL))
    assert not server.long_polling
    await choose("polling")
    await wait_for(hass, lambda: server.long_polling)
    assert server.webhook_url == ""
    await choose("webhook")
    await wait_for(hass, lambda: server.webhook_url != "")
    deletes = len(server.calls_to("deleteWebhook"))
    await choose("off")
    await wait_for(hass, lambda: server.webhook_url == "")
    assert len(server.calls_to("deleteWebhook")) == deletes + 1
    assert not server.long_polling
    assert tg_entry.runtime_data.inbound is None
    assert await hass.config_entries.async_unload(tg_entry.entry_id)


async def test_oversized_and_malformed_bodies(
    hass: HomeAssistant,
    server: FakeTelegramServer,
    webhook_entry: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Bounded (413), JSON objects only (400), an update id is needed; nothing fires."""
    client = await hass_client_no_auth()
    fired = capture(hass, EVENT_COMMAND)
    headers = {SECRET_HEADER: server.webhook_secret or "", **JSON}
    huge = json.dumps({**update(1, ANN, "/garage"), "pad": "x" * (MAX_BODY_BYTES + 1)})
    for body, status in (
        (huge, 413),
        ("[1, 2]", 400),
        ("{not json", 400),
        (json.dumps({"message": {}}), 400),
    ):
        response = await client.post(_path(server), data=body, headers=headers)
        assert response.status == status, body[:40]
    await hass.async_block_till_done()
    assert fired == [] and replies_to(server, ANN) == []


async def test_diagnostics_and_reprs_hide_the_secrets(
    hass: HomeAssistant,
    server: FakeTelegramServer,
    webhook_entry: MockConfigEntry,
    hass_client: ClientSessionGenerator,
) -> None:
    """Diagnostics show the mode and counters; no token, no webhook secret or id."""
    secret = server.webhook_secret or ""
    webhook_id = _path(server).rsplit("/", 1)[-1]
    diagnostics = await get_diagnostics_for_config_entry(
        hass, hass_client, webhook_entry
    )
    assert diagnostics["inbound"]["mode"] == "webhook"
    assert "accepted" in diagnostics["inbound"]["webhook"]
    printed = json.dumps(diagnostics, default=str)
    for value in (secret, webhook_id, server.token):
        assert value not in printed
    assert assert_no_secret_printed(
        webhook_entry.runtime_data, [server.token, secret, webhook_id]
    )
