"""Who may talk to the bot, the built-in commands, events and the rate limit.

Updates are the fake's own JSON, parsed by PTB and handed to the router; replies and
callback answers go to the fake through the real PTB Bot.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
import logging

import pytest

from custom_components.notify_bridge.targets.telegram.commands import (
    BUILTIN_COMMANDS,
    BridgeStatusError,
    parse_command,
    parse_duration,
)
from custom_components.notify_bridge.targets.telegram.inbound import (
    ChatDestination,
    InboundKind,
)
from tests.fakes.telegram_server import FakeTelegramServer

from .conftest import ALICE, FAMILY, LISTED_USER, NOW, STRANGER, Harness

pytestmark = pytest.mark.usefixtures("socket_enabled")


# ---- strangers ----------------------------------------------------------------------


async def test_stranger_is_ignored_logged_once_and_never_answered(
    harness: Harness, server: FakeTelegramServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A chat that is no destination, from a user not listed: nothing happens."""
    caplog.set_level(logging.INFO)
    for text in ("/status", "/help", "/custom x", "hello"):
        assert await harness.say(STRANGER, text) == []
    await harness.feed(server.push_button(STRANGER, "open_garage"))
    assert harness.events == []
    assert server.calls_to("sendMessage") == []
    assert server.answered_callbacks == []  # not even the spinner is answered
    assert harness.status.asked == []
    assert harness.router.stats.strangers_ignored == 5
    mentions = [r for r in caplog.records if str(STRANGER) in r.getMessage()]
    assert len(mentions) == 1 and mentions[0].levelno == logging.INFO


async def test_stranger_in_group_of_a_destination_user(
    harness: Harness, server: FakeTelegramServer
) -> None:
    """Alice's private chat is allowed; Alice writing in a foreign group is not."""
    assert await harness.say(-5555, "/status", user_id=ALICE) == []
    assert harness.events == []


async def test_listed_user_may_talk_outside_destinations(
    harness: Harness,
) -> None:
    """A listed user id is allowed anywhere; commands needing a destination say so."""
    replies = await harness.say(LISTED_USER, "/status")
    assert replies and replies[0].startswith("Notify Bridge status")
    assert await harness.say(LISTED_USER, "/flush") == [
        "This chat is not a destination of this bot."
    ]
    await harness.say(LISTED_USER, "/garage open")
    assert harness.events[-1].destination_id is None
    assert harness.events[-1].user_id == LISTED_USER


async def test_command_for_another_bot_is_ignored(harness: Harness) -> None:
    """`/status@other_bot` in a shared group belongs to that bot."""
    assert await harness.say(FAMILY, "/status@other_bot") == []
    assert await harness.say(FAMILY, "/lights@other_bot on") == []
    assert harness.events == []
    own = await harness.say(FAMILY, f"/status@{harness.server.username.upper()}")
    assert len(own) == 1


# ---- built-in commands ----------------------------------------------------------------


async def test_help_and_start(harness: Harness) -> None:
    """/help lists every built-in; /start (sent when a user opens the bot) too."""
    (reply,) = await harness.say(FAMILY, "/help")
    for name in BUILTIN_COMMANDS:
        assert f"/{name}" in reply
    # Alice reads Russian (ru-RU): the same list, in her language.
    (russian,) = await harness.say(ALICE, "/start")
    assert russian.startswith("Команды Notify Bridge:")
    for name in BUILTIN_COMMANDS:
        assert f"/{name}" in russian
    assert await harness.say(FAMILY, "/start") == [reply]
    assert harness.events == []


async def test_status(harness: Harness, server: FakeTelegramServer) -> None:
    """/status: backlog and failures per destination of this bot, failing sources."""
    (reply,) = await harness.say(FAMILY, "/status")
    assert "Family: 2 waiting, 1 failed" in reply
    assert "Alice: 0 waiting, 0 failed" in reply
    assert "Sources with problems: Immich (unreachable)" in reply
    assert harness.status.asked == [("status", ("dest_family", "dest_alice"))]
    call = server.calls_to("sendMessage")[-1]
    # Plain text (no parse mode), as a reply to the command.
    assert "parse_mode" not in call.params
    assert call.params["reply_parameters"]["message_id"] >= 100_000
    harness.status.source_problems = []
    (reply,) = await harness.say(FAMILY, "/status")
    assert "All sources are fine." in reply


async def test_latest(harness: Harness) -> None:
    """/latest [n]: the last n of this chat, newest first; bad n gets the usage."""
    (reply,) = await harness.say(FAMILY, "/latest 3")
    lines = reply.splitlines()
    assert lines[0] == "Last 3 notifications, newest first:"
    assert [line.split(" - ", 1)[1] for line in lines[1:]] == [
        "Title 1 Message 1",
        "Title 2 Message 2",
        "Title 3 Message 3",
    ]
    assert lines[1].startswith("2026-12-01 11:59")
    (default,) = await harness.say(FAMILY, "/latest")
    assert len(default.splitlines()) == 1 + 5
    for bad in ("/latest 0", "/latest 11", "/latest many"):
        assert (await harness.say(FAMILY, bad))[0].startswith("Usage: /latest")
    (empty,) = await harness.say(ALICE, "/latest")
    # Alice reads Russian (ru-RU).
    assert empty == "В этот чат ещё ничего не доставлялось."  # noqa: RUF001


async def test_latest_cuts_long_notifications(harness: Harness) -> None:
    """Ten long notifications still fit one message."""
    item = harness.status.history["dest_family"][0]
    harness.status.history["dest_family"] = [
        type(item)(item.dispatch_id, "T", "x" * 5000, item.delivered_at)
    ] * 10
    (reply,) = await harness.say(FAMILY, "/latest 10")
    assert len(reply) < 4096
    assert all(len(line) < 230 for line in reply.splitlines())


async def test_mute_unmute_flush(harness: Harness) -> None:
    """/mute holds this destination until then; /unmute and /flush report counts."""
    (reply,) = await harness.say(FAMILY, "/mute 2h")
    assert reply.startswith("Muted until 2026-12-01 14:00")
    assert harness.status.muted == {"dest_family": NOW + timedelta(hours=2)}
    (status,) = await harness.say(FAMILY, "/status")
    assert "muted until 2026-12-01 14:00" in status
    assert await harness.say(FAMILY, "/unmute") == [
        "Unmuted; 3 held notifications sent as a digest."
    ]
    assert harness.status.muted == {}
    assert await harness.say(FAMILY, "/flush") == ["0 held notifications delivered."]
    for bad in ("/mute", "/mute forever", "/mute 31d", "/mute 0m"):
        assert (await harness.say(FAMILY, bad))[0].startswith("Usage: /mute")
    assert [a for a, _ in harness.status.asked] == ["mute", "status", "unmute", "flush"]


async def test_command_failure_is_a_reply(harness: Harness) -> None:
    """A provider refusal is shown; a crash is logged and answered generically."""
    harness.status.fail_with = BridgeStatusError("outbox is busy")
    assert await harness.say(FAMILY, "/flush") == ["That did not work: outbox is busy"]
    harness.status.fail_with = RuntimeError("secret internals")
    (reply,) = await harness.say(FAMILY, "/status")
    assert "secret internals" not in reply
    assert reply == "That did not work; see the Home Assistant log."


async def test_reply_goes_to_the_topic(
    make_harness: Callable[..., Harness], server: FakeTelegramServer
) -> None:
    """In a forum topic the reply stays in the topic; the topic's destination acts."""
    harness = make_harness(
        destinations=(
            ChatDestination("dest_general", FAMILY),
            ChatDestination("dest_topic", FAMILY, thread_id=7),
        )
    )
    await harness.say(FAMILY, "/flush", thread_id=7)
    assert harness.status.asked == [("flush", "dest_topic")]
    assert server.calls_to("sendMessage")[-1].params["message_thread_id"] == 7
    await harness.say(FAMILY, "/flush")
    assert harness.status.asked[-1] == ("flush", "dest_general")


async def test_destination_by_channel_name(
    make_harness: Callable[..., Harness], server: FakeTelegramServer
) -> None:
    """A destination given as @name matches the chat's username."""
    harness = make_harness(destinations=(ChatDestination("dest_ch", "@HomeGroup"),))
    await harness.say(-2002, "/ping", username="homegroup")
    assert harness.events[0].destination_id == "dest_ch"


# ---- events ---------------------------------------------------------------------------


async def test_custom_command_and_text_become_events(
    harness: Harness, server: FakeTelegramServer
) -> None:
    """Other commands and plain text go to the glue, unanswered by the bot."""
    assert await harness.say(FAMILY, "/garage open  now", user_id=42) == []
    assert await harness.say(ALICE, "good night") == []
    command, text = harness.events
    assert command.kind is InboundKind.COMMAND
    assert (command.command, command.args) == ("garage", ("open", "now"))
    assert command.text == "/garage open  now"
    assert (command.chat_id, command.user_id, command.username) == (
        FAMILY,
        42,
        "user42",
    )
    assert command.destination_id == "dest_family"
    assert command.message_id is not None
    assert text.kind is InboundKind.TEXT
    assert (text.text, text.destination_id, text.command) == (
        "good night",
        "dest_alice",
        None,
    )
    assert text.as_dict()["kind"] == "text"


async def test_button_press_is_answered_and_becomes_an_event(
    harness: Harness, server: FakeTelegramServer
) -> None:
    """A press answers the callback query (spinner stops) and fires a button event."""
    await harness.feed(server.push_button(FAMILY, "garage:close", message_id=55))
    assert [a["callback_query_id"] for a in server.answered_callbacks] == ["cbq1"]
    (event,) = harness.events
    assert event.kind is InboundKind.BUTTON
    assert (event.data, event.message_id, event.destination_id) == (
        "garage:close",
        55,
        "dest_family",
    )
    assert server.calls_to("sendMessage") == []


async def test_non_text_message_is_ignored(
    harness: Harness, server: FakeTelegramServer
) -> None:
    """A sticker or photo without text is neither answered nor an event."""
    update = server.push_message(FAMILY, "x")
    del update["message"]["text"]
    update["message"]["sticker"] = {
        "file_id": "s", "file_unique_id": "u", "type": "regular",
        "width": 1, "height": 1, "is_animated": False, "is_video": False,
    }  # fmt: skip
    await harness.feed(update)
    assert harness.events == []
    assert harness.router.stats.unsupported_ignored == 1


# ---- rate limit -----------------------------------------------------------------------


async def test_rate_limit_per_chat(
    make_harness: Callable[..., Harness], server: FakeTelegramServer
) -> None:
    """Excess commands are dropped; one "slow down" per window; other chats go on."""
    harness = make_harness(commands_per_window=3, window_seconds=60)
    for _ in range(3):
        await harness.say(FAMILY, "/help")
    await harness.say(FAMILY, "/custom")  # 4th: dropped, warned
    for _ in range(5):
        await harness.say(FAMILY, "/help")  # dropped silently
    replies = harness.replies_to(FAMILY)
    assert len(replies) == 4
    assert replies[-1] == "Slow down: at most 3 commands per 60 seconds."
    assert harness.events == []
    assert harness.router.stats.rate_limited == 6
    assert len(await harness.say(ALICE, "/help")) == 1  # another chat is not limited
    harness.clock += 61  # the window has passed
    await harness.say(FAMILY, "/custom")
    assert len(harness.events) == 1


async def test_rate_limited_button_is_answered_without_event(
    make_harness: Callable[..., Harness], server: FakeTelegramServer
) -> None:
    """A dropped press still stops its spinner, but fires nothing."""
    harness = make_harness(commands_per_window=1)
    await harness.feed(server.push_button(FAMILY, "a"))
    await harness.feed(server.push_button(FAMILY, "b"))
    assert [e.data for e in harness.events] == ["a"]
    assert len(server.answered_callbacks) == 2
    assert harness.replies_to(FAMILY) == [
        "Slow down: at most 1 commands per 60 seconds."
    ]


# ---- parsing --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/status", ("status", (), None)),
        ("/Latest@MyBot 3", ("latest", ("3",), "MyBot")),
        ("  /mute   1h 30m ", ("mute", ("1h", "30m"), None)),
        ("/a_b\nsecond line", ("a_b", ("second", "line"), None)),
    ],
)
def test_parse_command(text: str, expected: tuple[object, ...]) -> None:
    """Name lower-cased, arguments split, the addressed bot kept."""
    parsed = parse_command(text)
    assert parsed is not None
    assert (parsed.name, parsed.args, parsed.bot_username) == expected


@pytest.mark.parametrize(
    "text", ["hello", "", "/", "/bad-name", "/" + "x" * 33, "a /status"]
)
def test_not_a_command(text: str) -> None:
    """Text that is not a command stays text."""
    assert parse_command(text) is None


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("30m", 1800), ("2h", 7200), ("1d", 86400), ("1h30m", 5400), ("90", 5400)],
)
def test_parse_duration(value: str, seconds: int) -> None:
    """Units s/m/h/d/w, combined; a bare number is minutes."""
    assert parse_duration(value) == timedelta(seconds=seconds)


@pytest.mark.parametrize("value", ["", "abc", "5x", "0", "1h-2m", "h"])
def test_parse_duration_refuses(value: str) -> None:
    """Anything else is refused."""
    assert parse_duration(value) is None
