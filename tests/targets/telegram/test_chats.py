"""The chats a bot's receiver saw: what the chat form offers while it runs."""

from __future__ import annotations

from typing import Any

from telegram import Update

from custom_components.notify_bridge.targets.telegram.chats import SeenChats


def _update(update_id: int, chat_id: int, **message: Any) -> Update:
    chat = {"id": chat_id, "type": "supergroup", "title": f"Chat {chat_id}"}
    data = {
        "update_id": update_id,
        "message": {"message_id": update_id, "date": 0, "chat": chat, **message},
    }
    update = Update.de_json(data, None)
    assert update is not None
    return update


def test_newest_first_one_entry_per_chat_bounded() -> None:
    """A chat seen again moves to the front with its newest topic; beyond the
    limit the chat seen longest ago goes."""
    seen = SeenChats(limit=2)
    seen.add(_update(1, -100, message_thread_id=5))
    seen.add(_update(2, -200))
    seen.add(_update(3, -100, message_thread_id=7))
    assert [(c.chat_id, c.message_thread_id) for c in seen.recent()] == [
        (-100, 7),
        (-200, None),
    ]
    seen.add(_update(4, -300))
    assert [c.chat_id for c in seen.recent()] == [-300, -100]


def test_an_update_without_a_chat_is_ignored() -> None:
    """A poll answer names no chat: nothing is noted."""
    seen = SeenChats()
    update = Update.de_json(
        {"update_id": 9, "poll_answer": {"poll_id": "p", "option_ids": [0]}}, None
    )
    assert update is not None
    seen.add(update)
    assert seen.recent() == []
