"""The chats a bot has seen: what the chat form suggests.

Telegram hands each update to one consumer only. While the bot's own receiver (long
polling or a webhook) has its updates, the form must not call getUpdates itself: the
call would compete with the long poll (Telegram answers "Conflict") and find nothing,
the receiver having taken the updates already. So the receiver notes every chat it
sees here, and the form offers those.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from telegram import Update

# Chats remembered at most (the oldest seen goes first).
SEEN_CHATS_LIMIT = 50


@dataclass(frozen=True, slots=True)
class RecentChat:
    """A chat the bot has seen recently (offered when adding a destination)."""

    chat_id: int
    title: str
    type: str
    message_thread_id: int | None = None


def recent_chat(update: Update) -> RecentChat | None:
    """Return the chat (and forum topic) an update came from, if it names one."""
    chat = update.effective_chat
    if chat is None:
        return None
    message = update.effective_message
    title = chat.title or chat.username or chat.full_name or str(chat.id)
    thread = message.message_thread_id if message else None
    return RecentChat(chat.id, title, chat.type, thread)


class SeenChats:
    """The chats the bot's receiver saw since it started, newest last, bounded."""

    def __init__(self, limit: int = SEEN_CHATS_LIMIT) -> None:
        """Start empty, with no receiver."""
        self._chats: OrderedDict[int, RecentChat] = OrderedDict()
        self._limit = limit
        # Whether a receiver (long poll or webhook) owns the bot's updates now.
        self.receiving = False

    def add(self, update: Update) -> None:
        """Note the chat of an update (its newest topic wins)."""
        if (chat := recent_chat(update)) is None:
            return
        self._chats.pop(chat.chat_id, None)
        self._chats[chat.chat_id] = chat
        while len(self._chats) > self._limit:
            self._chats.popitem(last=False)

    def recent(self) -> list[RecentChat]:
        """Return the chats, newest first."""
        return list(reversed(self._chats.values()))
