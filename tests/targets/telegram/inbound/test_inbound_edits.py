"""Edits and deletes of a dispatch's messages; setMyCommands per chat; 429."""

from __future__ import annotations

import asyncio

import pytest
from telegram import Bot

from custom_components.notify_bridge.targets.telegram.calls import RetryAfterCaller
from custom_components.notify_bridge.targets.telegram.commands import (
    BUILTIN_COMMANDS,
    async_register_commands,
)
from custom_components.notify_bridge.targets.telegram.edits import (
    SentMessage,
    async_delete_messages,
    async_edit_messages,
)
from custom_components.notify_bridge.targets.telegram.sender import RetryPolicy
from tests.fakes.telegram_server import CHAT_NOT_FOUND, FakeTelegramServer, make_jpeg

pytestmark = pytest.mark.usefixtures("socket_enabled")

CHATS = (501, -1001, -1002)


class Sleeps:
    """A sleep that records waits and yields without waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(0)


async def dispatch(bot: Bot) -> list[SentMessage]:
    """Send "backup running…" to three chats (two chunks in the first)."""
    sent = []
    for index, chat in enumerate(CHATS):
        for part in range(2 if index == 0 else 1):
            message = await bot.send_message(chat, f"backup running… {part}")
            sent.append(SentMessage(f"dest{index}", chat, message.message_id))
    return sent


def texts(server: FakeTelegramServer) -> dict[tuple[str, int], str | None]:
    """Return the current text of every message the fake holds."""
    return {
        k: m.get("text") or m.get("caption") for k, m in server.chat_messages.items()
    }


async def test_edit_a_three_chat_dispatch(bot: Bot, server: FakeTelegramServer) -> None:
    """Every message of every chat gets the new text; in order within a chat."""
    sent = await dispatch(bot)
    outcomes = await async_edit_messages(bot, sent, "backup done ✓", RetryAfterCaller())
    assert [o.ok for o in outcomes] == [True] * 4
    assert [o.message for o in outcomes] == sent
    assert set(texts(server).values()) == {"backup done ✓"}
    first_chat = [c.params["message_id"] for c in server.calls_to("editMessageText")
                  if c.params["chat_id"] == CHATS[0]]  # fmt: skip
    assert first_chat == [sent[0].message_id, sent[1].message_id]
    # The same text again: Telegram says "not modified"; that is success.
    again = await async_edit_messages(bot, sent, "backup done ✓", RetryAfterCaller())
    assert all(o.ok and o.unchanged for o in again)


async def test_edit_reports_each_failure(bot: Bot, server: FakeTelegramServer) -> None:
    """A chat that refuses fails its messages only; a 429 is waited out."""
    sent = await dispatch(bot)
    server.fail_next(CHAT_NOT_FOUND, method="editMessageText", chat_id=CHATS[1])
    server.fail_next(
        "Too Many Requests: retry after 3", status=429, method="editMessageText",
        chat_id=CHATS[2], retry_after=3,
    )  # fmt: skip
    sleeps = Sleeps()
    outcomes = await async_edit_messages(
        bot, sent, "done", RetryAfterCaller(RetryPolicy(base_delay=0.001), sleep=sleeps)
    )
    assert [o.ok for o in outcomes] == [True, True, False, True]
    assert "chat not found" in (outcomes[2].error or "").lower()
    assert sleeps.waits == [3.0]


async def test_edit_a_photo_edits_its_caption(
    bot: Bot, server: FakeTelegramServer
) -> None:
    """A media message has a caption: that is what the edit changes."""
    photo = await bot.send_photo(CHATS[0], make_jpeg(), caption="uploading…")
    sent = [SentMessage("dest0", CHATS[0], photo.message_id)]
    (outcome,) = await async_edit_messages(bot, sent, "uploaded", RetryAfterCaller())
    assert outcome.ok
    assert texts(server)[(str(CHATS[0]), photo.message_id)] == "uploaded"


async def test_edit_cuts_to_one_message(bot: Bot, server: FakeTelegramServer) -> None:
    """An edit cannot grow into two messages: the text is cut to the limit."""
    sent = (await dispatch(bot))[:1]
    (outcome,) = await async_edit_messages(bot, sent, "y" * 5000, RetryAfterCaller())
    assert outcome.ok
    assert len(server.calls_to("editMessageText")[0].params["text"]) == 4096


async def test_delete_a_three_chat_dispatch(
    bot: Bot, server: FakeTelegramServer
) -> None:
    """Every message goes; one already gone counts as done; a refusal is reported."""
    sent = await dispatch(bot)
    await bot.delete_message(CHATS[2], sent[3].message_id)  # deleted by hand
    server.fail_next(
        "Forbidden: bot was kicked from the supergroup chat", status=403,
        method="deleteMessage", chat_id=CHATS[1],
    )  # fmt: skip
    outcomes = await async_delete_messages(bot, sent, RetryAfterCaller())
    assert [(o.ok, o.unchanged) for o in outcomes] == [
        (True, False),
        (True, False),
        (False, False),
        (True, True),
    ]
    assert list(server.chat_messages) == [(str(CHATS[1]), sent[2].message_id)]


async def test_register_commands_per_chat(bot: Bot, server: FakeTelegramServer) -> None:
    """setMyCommands per chat scope, in the chat's language; 429 waited out."""
    server.fail_next(
        "Too Many Requests: retry after 2", status=429, method="setMyCommands",
        retry_after=2,
    )  # fmt: skip
    server.fail_next(CHAT_NOT_FOUND, method="setMyCommands", times=1)
    sleeps = Sleeps()
    caller = RetryAfterCaller(RetryPolicy(base_delay=0.001), sleep=sleeps)
    failed = await async_register_commands(
        bot, [(501, "en"), (501, "en"), (-1001, None), (-1002, "de")], caller
    )
    assert sleeps.waits == [2.0]
    assert failed == [501]  # the scripted "chat not found" hit the retry
    assert set(server.scoped_commands) == {("chat", "-1001", ""), ("chat", "-1002", "")}
    names = [c["command"] for c in server.scoped_commands[("chat", "-1001", "")]]
    assert names == list(BUILTIN_COMMANDS)
    assert all(c["description"] for c in server.scoped_commands[("chat", "-1001", "")])


async def test_edit_retries_a_server_error_after_the_backoff(
    bot: Bot, server: FakeTelegramServer
) -> None:
    """A 5xx answer is transient: the edit is sent again after a jittered backoff
    (mypy --strict found this retry calling the policy with missing arguments)."""
    sent = (await dispatch(bot))[-1:]
    server.fail_next("Internal Server Error", status=500, method="editMessageText")
    sleeps = Sleeps()
    policy = RetryPolicy(base_delay=0.5, max_delay=10)
    caller = RetryAfterCaller(policy, sleep=sleeps)
    (outcome,) = await async_edit_messages(bot, sent, "backup done ✓", caller)
    assert outcome.ok
    assert texts(server)[(str(CHATS[2]), sent[0].message_id)] == "backup done ✓"
    [wait] = sleeps.waits
    assert 0.4 <= wait < 0.6  # base_delay * (0.8 + 0.4 * jitter)
