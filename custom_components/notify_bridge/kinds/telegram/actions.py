"""Editing and deleting what a dispatch sent to this bot's chats (edit/delete)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...targets.telegram import TelegramDestination
from ...targets.telegram.edits import (
    MessageOutcome,
    SentMessage,
    async_delete_messages,
    async_edit_messages,
)
from .inbound import paced_caller
from .setup import TelegramConfigEntry, TelegramRuntime


async def async_message_action(
    entry: TelegramConfigEntry,
    sent: Mapping[str, tuple[int, ...]],
    new_text: str | None,
) -> list[dict[str, Any]]:
    """Edit (new text) or delete (None) the messages of this entry's chats."""
    runtime = entry.runtime_data
    messages = [
        SentMessage(dest_id, _chat_id(runtime, dest_id), mid)
        for dest_id, message_ids in sent.items()
        if dest_id in runtime.destinations
        for mid in message_ids
    ]
    if not messages:
        return []
    # The same pacing and 429 handling as deliveries and command replies.
    caller = runtime.inbound.caller if runtime.inbound else paced_caller(runtime.bot)
    if new_text is None:
        outcomes = await async_delete_messages(runtime.bot.bot, messages, caller)
    else:
        outcomes = await async_edit_messages(
            runtime.bot.bot, messages, new_text, caller, limits=runtime.bot.limits
        )
    return [_as_dict(runtime, outcome) for outcome in outcomes]


def _as_dict(runtime: TelegramRuntime, outcome: MessageOutcome) -> dict[str, Any]:
    message = outcome.message
    return {
        "destination_id": message.destination_id,
        "destination": runtime.destinations[message.destination_id].destination.name,
        "message_id": message.message_id,
        "success": outcome.ok,
        "unchanged": outcome.unchanged,
        "error": outcome.error,
    }


def _chat_id(runtime: TelegramRuntime, dest_id: str) -> int | str:
    destination = runtime.destinations[dest_id].destination
    if not isinstance(destination, TelegramDestination):  # pragma: no cover
        # A Telegram bot's destinations are its chats; nothing else is registered.
        raise TypeError(f"{dest_id} is not a Telegram chat")
    return destination.chat_id
