"""Editing and deleting the messages of a dispatch, chat by chat.

A dispatch may have sent several messages to several chats (text chunks, albums). The
glue keeps the (chat, message id) pairs per dispatch id and calls these functions;
each chat's messages are handled in order, chats concurrently, and every message gets
its own outcome for the summary. Calls go through a `BotCaller`, so the delivery
pacing can be joined by passing a caller backed by `TelegramBot.async_call`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Final

from telegram import Bot

from ...pipeline.log import get_logger
from .calls import BotCaller
from .limits import OFFICIAL_LIMITS, TelegramLimits
from .sender import TelegramSendError

_LOGGER = get_logger(__name__)

# Bot API answers that mean the wanted state is already there.
NOT_MODIFIED: Final = "message is not modified"
ALREADY_DELETED: Final = "message to delete not found"
# A media message has a caption, not a text: edit that instead.
NO_TEXT: Final = "there is no text in the message to edit"


@dataclass(frozen=True, slots=True)
class SentMessage:
    """One message a dispatch put into a chat."""

    destination_id: str
    chat_id: int | str
    message_id: int


@dataclass(frozen=True, slots=True)
class MessageOutcome:
    """What became of one message: done, or the error Telegram gave."""

    message: SentMessage
    ok: bool
    error: str | None = None
    # The message was already in the wanted state (same text, already gone).
    unchanged: bool = False


async def async_edit_messages(
    bot: Bot,
    messages: Sequence[SentMessage],
    new_text: str,
    caller: BotCaller,
    *,
    parse_mode: str | None = None,
    limits: TelegramLimits = OFFICIAL_LIMITS,
) -> list[MessageOutcome]:
    """Set the text (or, on media, the caption) of every message; outcomes in order.

    A text longer than one message allows is cut: a message edits in place, it
    cannot grow into two.
    """

    async def edit(message: SentMessage) -> None:
        try:
            await caller(
                message.chat_id,
                lambda: bot.edit_message_text(
                    new_text[: limits.text_chars],
                    chat_id=message.chat_id,
                    message_id=message.message_id,
                    parse_mode=parse_mode,
                ),
            )
        except TelegramSendError as err:
            if NO_TEXT not in str(err).lower():
                raise
            await caller(
                message.chat_id,
                lambda: bot.edit_message_caption(
                    chat_id=message.chat_id,
                    message_id=message.message_id,
                    caption=new_text[: limits.caption_chars],
                    parse_mode=parse_mode,
                ),
            )

    return await _per_chat(messages, edit, NOT_MODIFIED)


async def async_delete_messages(
    bot: Bot, messages: Sequence[SentMessage], caller: BotCaller
) -> list[MessageOutcome]:
    """Delete every message; one already gone counts as done. Outcomes in order."""

    async def delete(message: SentMessage) -> None:
        await caller(
            message.chat_id,
            lambda: bot.delete_message(message.chat_id, message.message_id),
        )

    return await _per_chat(messages, delete, ALREADY_DELETED)


async def _per_chat(
    messages: Sequence[SentMessage],
    action: Callable[[SentMessage], Awaitable[None]],
    unchanged_marker: str,
) -> list[MessageOutcome]:
    """Run `action` per message: in order within a chat, chats concurrently."""
    outcomes: dict[int, MessageOutcome] = {}
    by_chat: dict[str, list[int]] = {}
    for index, message in enumerate(messages):
        by_chat.setdefault(str(message.chat_id), []).append(index)

    async def run_chat(indexes: list[int]) -> None:
        for index in indexes:
            message = messages[index]
            try:
                await action(message)
            except TelegramSendError as err:
                gone = unchanged_marker in str(err).lower()
                outcomes[index] = MessageOutcome(
                    message, ok=gone, error=None if gone else str(err), unchanged=gone
                )
            except Exception as err:
                # One broken call must not cancel the other chats' edits.
                _LOGGER.exception("Telegram edit/delete of %s failed", message)
                outcomes[index] = MessageOutcome(message, ok=False, error=repr(err))
            else:
                outcomes[index] = MessageOutcome(message, ok=True)

    async with asyncio.TaskGroup() as group:
        for indexes in by_chat.values():
            group.create_task(run_chat(indexes))
    return [outcomes[index] for index in range(len(messages))]


__all__ = [
    "MessageOutcome",
    "SentMessage",
    "async_delete_messages",
    "async_edit_messages",
]
