"""Receiving by long polling through Home Assistant: commands, events, buttons, edits."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigSubentryDataWithId
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import voluptuous as vol

from custom_components.notify_bridge.const import (
    DOMAIN,
    EVENT_BUTTON,
    EVENT_COMMAND,
    EVENT_MESSAGE,
)
from tests.common import start_subentry_flow
from tests.fakes.telegram_server import FakeTelegramServer

from .conftest import (
    FORUM_CHAT,
    PRIVATE_DEST_ID,
    PRIVATE_ENTITY,
    TOPIC_DEST_ID,
    TOPIC_ENTITY,
    tg_destination,
)
from .inbound_common import STRANGER, capture, event_entity, replies_to, wait_for

ANN = 42


@pytest.fixture
def tg_destinations() -> list[ConfigSubentryDataWithId]:
    """A forum topic, a private chat (Ann), and a third chat (Bob)."""
    return [
        tg_destination(TOPIC_DEST_ID, "Family topic", FORUM_CHAT, message_thread_id=5),
        tg_destination(PRIVATE_DEST_ID, "Ann", ANN),
        tg_destination("dest_bob", "Bob", 43),
    ]


@pytest.fixture
def tg_entry_options() -> dict[str, Any]:
    """Options of the entry: long polling, the default rate limit."""
    return {"receive_updates": "polling"}


@pytest.fixture(autouse=True)
def _options(
    hass: HomeAssistant, tg_entry: MockConfigEntry, tg_entry_options: dict[str, Any]
) -> None:
    hass.config_entries.async_update_entry(tg_entry, options=tg_entry_options)


async def _started(hass: HomeAssistant, server: FakeTelegramServer) -> None:
    await wait_for(hass, lambda: server.long_polling)


@pytest.mark.usefixtures("setup_telegram")
async def test_custom_command_fires_bus_event_and_entity(
    hass: HomeAssistant, server: FakeTelegramServer
) -> None:
    """A command no built-in knows becomes a bus event and the chat's event state."""
    await _started(hass, server)
    commands = capture(hass, EVENT_COMMAND)
    server.push_message(ANN, "/garage open now")
    await wait_for(hass, lambda: commands)
    data = commands[0].data
    assert data["command"] == "garage"
    assert data["args"] == ["open", "now"]
    assert data["chat_id"] == ANN and data["user_id"] == ANN
    assert data["destination_id"] == PRIVATE_DEST_ID
    entity_id = event_entity(hass, PRIVATE_DEST_ID)
    assert data["entity_id"] == entity_id
    assert data["notify_entity_id"] == PRIVATE_ENTITY
    state = hass.states.get(entity_id)
    assert state is not None
    assert state.attributes["event_type"] == "command"
    assert state.attributes["command"] == "garage"
    assert replies_to(server, ANN) == []  # nothing answered for a custom command


@pytest.mark.usefixtures("setup_telegram")
async def test_text_fires_message_event(
    hass: HomeAssistant, server: FakeTelegramServer
) -> None:
    """Plain text in a topic reaches the topic's destination."""
    await _started(hass, server)
    messages = capture(hass, EVENT_MESSAGE)
    server.push_message(FORUM_CHAT, "hello there", user_id=7, thread_id=5)
    await wait_for(hass, lambda: messages)
    assert messages[0].data["text"] == "hello there"
    assert messages[0].data["destination_id"] == TOPIC_DEST_ID
    state = hass.states.get(event_entity(hass, TOPIC_DEST_ID))
    assert state is not None and state.attributes["event_type"] == "text"


@pytest.fixture
def _flood_on_first_commands(server: FakeTelegramServer) -> None:
    server.fail_next(
        "Too Many Requests: retry after 0",
        status=429,
        retry_after=0,
        method="setMyCommands",
    )


@pytest.mark.usefixtures("_flood_on_first_commands", "setup_telegram")
async def test_commands_registered_per_chat(
    hass: HomeAssistant, server: FakeTelegramServer
) -> None:
    """setMyCommands once per destination chat scope at setup; a 429 is waited out."""
    await wait_for(hass, lambda: len(server.scoped_commands) == 3)
    refused = [
        c for c in server.calls if c.method == "setMyCommands" and c.status == 429
    ]
    chats = {key[1] for key in server.scoped_commands}
    assert chats == {str(FORUM_CHAT), str(ANN), "43"}
    assert len(refused) == 1  # the flood answer came, and was retried
    names = [c["command"] for c in next(iter(server.scoped_commands.values()))]
    assert names == ["help", "status", "latest", "mute", "unmute", "flush"]


@pytest.mark.usefixtures("setup_telegram")
async def test_stranger_is_ignored(
    hass: HomeAssistant, server: FakeTelegramServer
) -> None:
    """A stranger's command: no reply, no event, no entity state; later updates go on."""
    await _started(hass, server)
    fired = capture(hass, EVENT_COMMAND)
    server.push_message(STRANGER, "/garage open")
    server.push_message(STRANGER, "/status")
    server.push_message(ANN, "/probe")
    await wait_for(hass, lambda: fired)
    assert [e.data["chat_id"] for e in fired] == [ANN]
    assert replies_to(server, STRANGER) == []


@pytest.mark.usefixtures("setup_telegram")
async def test_every_builtin_is_answered(
    hass: HomeAssistant, server: FakeTelegramServer
) -> None:
    """/help, /status, /latest, /mute (holds), /unmute (delivers), /flush."""
    await _started(hass, server)
    await hass.services.async_call(
        DOMAIN,
        "send",
        {"entity_id": PRIVATE_ENTITY, "message": "first note"},
        blocking=True,
    )
    for command in ("/help", "/status", "/latest 3", "/mute 1h"):
        count = len(replies_to(server, ANN))
        server.push_message(ANN, command)
        await wait_for(hass, lambda c=count: len(replies_to(server, ANN)) > c)
    replies = replies_to(server, ANN)
    assert "/status" in replies[1]  # help lists the commands
    assert "Ann: 0 waiting, 0 failed" in replies[2]
    assert "first note" in replies[3]
    assert replies[4].startswith("Muted until")
    # Held while muted: nothing goes to the chat.
    await hass.services.async_call(
        DOMAIN, "send", {"entity_id": PRIVATE_ENTITY, "message": "held"}, blocking=True
    )
    assert "held" not in replies_to(server, ANN)
    server.push_message(ANN, "/status")
    await wait_for(hass, lambda: len(replies_to(server, ANN)) > 5)
    assert "1 waiting" in replies_to(server, ANN)[5]
    assert "muted until" in replies_to(server, ANN)[5]
    server.push_message(ANN, "/unmute")
    await wait_for(hass, lambda: any("Unmuted" in r for r in replies_to(server, ANN)))
    assert any("held" in r for r in replies_to(server, ANN))
    server.push_message(ANN, "/flush")
    await wait_for(hass, lambda: any("delivered" in r for r in replies_to(server, ANN)))
    assert "0 held notifications delivered." in replies_to(server, ANN)


@pytest.mark.parametrize(
    "tg_entry_options", [{"receive_updates": "polling", "commands_per_minute": 5}]
)
@pytest.mark.usefixtures("setup_telegram")
async def test_rate_limit_drops_with_one_reply(
    hass: HomeAssistant, server: FakeTelegramServer
) -> None:
    """Over 5 commands a minute: the rest is dropped, with one slow-down reply."""
    await _started(hass, server)
    fired = capture(hass, EVENT_COMMAND)
    for index in range(8):
        server.push_message(ANN, f"/cmd{index}")
    await wait_for(hass, lambda: not server.updates and server.long_polling)
    assert [e.data["command"] for e in fired] == [f"cmd{i}" for i in range(5)]
    slow = [r for r in replies_to(server, ANN) if r.startswith("Slow down")]
    assert len(slow) == 1


@pytest.mark.usefixtures("setup_telegram")
async def test_send_with_buttons_then_press(
    hass: HomeAssistant, server: FakeTelegramServer
) -> None:
    """Buttons go out as an inline keyboard; a press is answered and fires events."""
    await _started(hass, server)
    response = await hass.services.async_call(
        DOMAIN,
        "send",
        {
            "entity_id": PRIVATE_ENTITY,
            "message": "Garage open",
            "buttons": [
                [
                    {"text": "Close", "action": "garage_close"},
                    {"text": "Camera", "url": "https://example.com/cam"},
                ]
            ],
            "reply_to": 7,
        },
        blocking=True,
        return_response=True,
    )
    call = server.calls_to("sendMessage")[-1]
    keyboard = call.params["reply_markup"]["inline_keyboard"]
    assert keyboard[0][0] == {"text": "Close", "callback_data": "garage_close"}
    assert keyboard[0][1]["url"] == "https://example.com/cam"
    assert call.params["reply_parameters"]["message_id"] == 7
    message_id = response["message_ids"][PRIVATE_DEST_ID][0]
    buttons = capture(hass, EVENT_BUTTON)
    server.push_button(ANN, "garage_close", message_id=message_id)
    await wait_for(hass, lambda: buttons)
    assert buttons[0].data["data"] == "garage_close"
    assert buttons[0].data["message_id"] == message_id
    assert len(server.answered_callbacks) == 1
    state = hass.states.get(event_entity(hass, PRIVATE_DEST_ID))
    assert state is not None and state.attributes["event_type"] == "button"


@pytest.mark.usefixtures("setup_telegram")
async def test_stranger_button_is_not_answered(
    hass: HomeAssistant, server: FakeTelegramServer
) -> None:
    """A stranger's press: no answer, no event."""
    await _started(hass, server)
    buttons = capture(hass, EVENT_BUTTON)
    server.push_button(STRANGER, "garage_close")
    await wait_for(hass, lambda: not server.updates and server.long_polling)
    assert buttons == [] and server.answered_callbacks == []


@pytest.mark.usefixtures("setup_telegram")
async def test_edit_and_delete_a_three_chat_dispatch(
    hass: HomeAssistant, server: FakeTelegramServer
) -> None:
    """edit and delete act on every message of the dispatch, in each chat."""
    response = await hass.services.async_call(
        DOMAIN,
        "send",
        {
            "entity_id": [PRIVATE_ENTITY, TOPIC_ENTITY, "notify.bob"],
            "message": "backup running…",
        },
        blocking=True,
        return_response=True,
    )
    dispatch_id = response["dispatch_id"]
    assert all(len(ids) == 1 for ids in response["message_ids"].values())
    edited = await hass.services.async_call(
        DOMAIN,
        "edit",
        {"dispatch_id": dispatch_id, "message": "backup done ✓"},
        blocking=True,
        return_response=True,
    )
    assert edited["status"] == "ok" and len(edited["results"]) == 3
    texts = {m.get("text") for m in server.chat_messages.values()}
    assert texts == {"backup done ✓"}
    deleted = await hass.services.async_call(
        DOMAIN,
        "delete",
        {"dispatch_id": dispatch_id},
        blocking=True,
        return_response=True,
    )
    assert deleted["status"] == "ok" and len(deleted["results"]) == 3
    assert server.chat_messages == {}
    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(
            DOMAIN, "delete", {"dispatch_id": "nope"}, blocking=True
        )


@pytest.mark.usefixtures("setup_telegram")
async def test_offset_across_restart(
    hass: HomeAssistant, server: FakeTelegramServer, tg_entry: MockConfigEntry
) -> None:
    """Reloading neither repeats a handled update nor loses one sent meanwhile."""
    await _started(hass, server)
    fired = capture(hass, EVENT_COMMAND)
    server.push_message(ANN, "/one")
    await wait_for(hass, lambda: len(fired) == 1)
    assert await hass.config_entries.async_unload(tg_entry.entry_id)
    server.push_message(ANN, "/two")  # arrives while Home Assistant is down
    assert await hass.config_entries.async_setup(tg_entry.entry_id)
    await wait_for(hass, lambda: len(fired) == 2)
    await wait_for(hass, lambda: server.long_polling)
    assert [e.data["command"] for e in fired] == ["one", "two"]


@pytest.mark.usefixtures("setup_telegram")
async def test_mute_survives_a_restart(
    hass: HomeAssistant, server: FakeTelegramServer, tg_entry: MockConfigEntry
) -> None:
    """/mute holds across a reload; /unmute afterwards delivers what was held."""
    await _started(hass, server)
    server.push_message(ANN, "/mute 2h")
    await wait_for(hass, lambda: replies_to(server, ANN))
    assert await hass.config_entries.async_reload(tg_entry.entry_id)
    await wait_for(hass, lambda: server.long_polling)
    await hass.services.async_call(
        DOMAIN, "send", {"entity_id": PRIVATE_ENTITY, "message": "kept"}, blocking=True
    )
    assert "kept" not in replies_to(server, ANN)
    server.push_message(ANN, "/unmute")
    await wait_for(
        hass, lambda: any(r.startswith("Unmuted") for r in replies_to(server, ANN))
    )
    assert "kept" in replies_to(server, ANN)
    assert any(r.startswith("Unmuted; 1") for r in replies_to(server, ANN))


@pytest.mark.parametrize(
    "tg_entry_options", [{"receive_updates": "polling", "allowed_user_ids": [555]}]
)
@pytest.mark.usefixtures("setup_telegram")
async def test_listed_user_outside_destinations(
    hass: HomeAssistant, server: FakeTelegramServer
) -> None:
    """A listed user's private chat: events without a destination; /latest refused."""
    await _started(hass, server)
    fired = capture(hass, EVENT_COMMAND)
    server.push_message(555, "/garage")
    server.push_message(555, "/latest")
    await wait_for(hass, lambda: fired and replies_to(server, 555))
    assert fired[0].data["destination_id"] is None
    assert fired[0].data["entity_id"] is None
    assert replies_to(server, 555) == ["This chat is not a destination of this bot."]


@pytest.mark.parametrize(
    "buttons",
    [
        [[{"text": "No target"}]],
        [[{"text": "Both", "url": "https://example.com", "action": "x"}]],
        [[{"text": "Long", "action": "x" * 65}]],
        [[{"text": "", "action": "x"}]],
        [[{"text": "Bad url", "url": "javascript:alert(1)"}]],
        [[{"text": f"b{i}", "action": str(i)} for i in range(101)]],
    ],
)
@pytest.mark.usefixtures("setup_telegram")
async def test_bad_buttons_are_refused(
    hass: HomeAssistant, server: FakeTelegramServer, buttons: list[Any]
) -> None:
    """Buttons Telegram would refuse are refused before anything is sent."""
    with pytest.raises(vol.Invalid):
        await hass.services.async_call(
            DOMAIN,
            "send",
            {"entity_id": PRIVATE_ENTITY, "message": "x", "buttons": buttons},
            blocking=True,
        )
    assert server.calls_to("sendMessage") == []


@pytest.mark.usefixtures("setup_telegram")
async def test_chat_form_offers_what_the_receiver_saw(
    hass: HomeAssistant,
    server: FakeTelegramServer,
    tg_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """While the bot long-polls, the "Add chat" form lists the chats the poller
    saw (a stranger's forum topic included) and makes no getUpdates call of its
    own: one would compete with the long poll ("Conflict", blamed on "another
    program") and find nothing, the poller having taken the updates."""
    await _started(hass, server)
    server.push_message(STRANGER, "hello", thread_id=9)
    await wait_for(hass, lambda: "ignoring chat" in caplog.text)
    polls = len(server.calls_to("getUpdates"))
    result = await start_subentry_flow(hass, tg_entry)
    options = result["data_schema"].schema["chat_id"].config["options"]
    assert any(f"{STRANGER}" in o["label"] and "topic 9" in o["label"] for o in options)
    await hass.async_block_till_done()
    # The long poll's own requests wait (timeout); the form's would not.
    later = server.calls_to("getUpdates")[polls:]
    assert [call.params for call in later if not call.params.get("timeout")] == []
    assert "another program" not in caplog.text
    # Adding a chat reloads the entry: what the receiver saw is still offered.
    assert await hass.config_entries.async_reload(tg_entry.entry_id)
    await _started(hass, server)
    result = await start_subentry_flow(hass, tg_entry)
    options = result["data_schema"].schema["chat_id"].config["options"]
    assert any("topic 9" in o["label"] for o in options)
