"""The receiving half of the fake Bot API: updates, webhooks, callbacks, edits.

A mixin of `FakeTelegramServer` (kept apart so the sending half stays readable):
getUpdates with offsets and long polling (a second concurrent getUpdates terminates
the first with 409, as Telegram does), setWebhook/deleteWebhook/getWebhookInfo,
answerCallbackQuery, editMessageText/editMessageCaption, deleteMessage and
setMyCommands per scope. Tests inject updates with `push_message`/`push_button`.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .telegram_server import RecordedCall

WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active;"
    " use deleteWebhook to delete the webhook first"
)
POLL_CONFLICT = (
    "Conflict: terminated by other getUpdates request;"
    " make sure that only one bot instance is running"
)
EDIT_NOT_FOUND = "Bad Request: message to edit not found"
DELETE_NOT_FOUND = "Bad Request: message to delete not found"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and"
    " reply markup are exactly the same as a current content and reply markup"
    " of the message"
)
NO_TEXT = "Bad Request: there is no text in the message to edit"
NO_CAPTION = "Bad Request: there is no caption in the message to edit"
QUERY_INVALID = (
    "Bad Request: query is too old and response timeout expired or query ID is invalid"
)


class ApiAnswer(Exception):
    """Raised by a handler to answer with a Bot API error (status, description)."""

    def __init__(self, status: int, description: str) -> None:
        """Keep what to answer."""
        super().__init__(description)
        self.status = status
        self.description = description


class InboundApiMixin:
    """State and handlers of the receiving methods; see the module doc."""

    updates: list[dict[str, Any]]
    webhook_url: str
    commands: list[dict[str, Any]]
    bot_id: int
    _closing: asyncio.Event

    def _init_inbound(self) -> None:
        self._update_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._inbound_message_ids = itertools.count(100_000)
        self._active_poll: asyncio.Future[str] | None = None
        self.webhook_secret: str | None = None
        self.webhook_options: dict[str, Any] = {}
        self.open_callbacks: set[str] = set()
        self.answered_callbacks: list[dict[str, Any]] = []
        # (chat id as sent, message id) → the message as stored by the fake.
        self.chat_messages: dict[tuple[str, int], dict[str, Any]] = {}
        # (scope type, chat id or None, language) → registered commands.
        self.scoped_commands: dict[tuple[str, str | None, str], list[Any]] = {}

    # ---- injecting updates --------------------------------------------------------

    def push_update(self, **content: Any) -> dict[str, Any]:
        """Queue an update (the next update_id is assigned) and wake long polls."""
        update = {"update_id": next(self._update_ids), **content}
        self.updates.append(update)
        self._wake_poll("updates")
        return update

    def push_message(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        thread_id: int | None = None,
        username: str | None = None,
    ) -> dict[str, Any]:
        """Queue a text message from a user in a chat (private when ids match)."""
        message: dict[str, Any] = {
            "message_id": next(self._inbound_message_ids),
            "date": int(time.time()),
            "chat": chat_object(chat_id, username),
            "from": user_object(user_id if user_id is not None else chat_id),
            "text": text,
        }
        if text.startswith("/"):
            length = len(text.split(maxsplit=1)[0])
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": length}
            ]
        if thread_id is not None:
            message["message_thread_id"] = thread_id
            message["is_topic_message"] = True
        return self.push_update(message=message)

    def push_button(
        self,
        chat_id: int,
        data: str,
        *,
        user_id: int | None = None,
        message_id: int = 1,
    ) -> dict[str, Any]:
        """Queue a press of an inline button on a message the bot sent."""
        query_id = f"cbq{next(self._callback_ids)}"
        self.open_callbacks.add(query_id)
        sender = user_id if user_id is not None else chat_id
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": chat_object(chat_id),
            "from": {"id": self.bot_id, "is_bot": True, "first_name": "Bot"},
            "text": "a message with buttons",
        }
        return self.push_update(
            callback_query={
                "id": query_id,
                "from": user_object(sender),
                "chat_instance": f"ci{chat_id}",
                "message": message,
                "data": data,
            }
        )

    @property
    def long_polling(self) -> bool:
        """Return whether a getUpdates is waiting for updates right now."""
        return self._active_poll is not None and not self._active_poll.done()

    def remember_message(self, chat_id: Any, message: dict[str, Any]) -> None:
        """Keep a message the bot sent so it can be edited and deleted."""
        self.chat_messages[(str(chat_id), message["message_id"])] = message

    # ---- handlers -------------------------------------------------------------------

    def _inbound_handlers(self) -> dict[str, Any]:
        return {
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "answerCallbackQuery": self._answer_callback_query,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "deleteMessage": self._delete_message,
        }

    async def _before_result(self, call: RecordedCall) -> None:
        """Hold a getUpdates open until updates arrive (long polling)."""
        if call.method != "getUpdates" or self.webhook_url:
            return
        self._confirm(call.params.get("offset"))
        # A newer getUpdates terminates the one still waiting, as on Telegram.
        self._wake_poll("terminated")
        timeout = float(call.params.get("timeout") or 0)
        if self.updates or timeout <= 0:
            return
        waiter: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._active_poll = waiter
        closing: asyncio.Future[Any] = asyncio.ensure_future(self._closing.wait())
        try:
            await asyncio.wait(
                {waiter, closing}, timeout=timeout, return_when="FIRST_COMPLETED"
            )
        finally:
            closing.cancel()
            if self._active_poll is waiter:
                self._active_poll = None
        if waiter.done() and waiter.result() == "terminated":
            raise ApiAnswer(409, POLL_CONFLICT)

    def _wake_poll(self, reason: str) -> None:
        poll = self._active_poll
        if poll is not None and not poll.done():
            poll.set_result(reason)

    def _get_updates(self, call: RecordedCall) -> list[dict[str, Any]]:
        if self.webhook_url:
            raise ApiAnswer(409, WEBHOOK_CONFLICT)
        self._confirm(call.params.get("offset"))
        limit = int(call.params.get("limit") or 100)
        return self.updates[:limit]

    def _confirm(self, offset: Any) -> None:
        """Forget updates below `offset` (Telegram's acknowledgement)."""
        if isinstance(offset, int) and offset > 0:
            self.updates[:] = [u for u in self.updates if u["update_id"] >= offset]

    def _set_webhook(self, call: RecordedCall) -> bool:
        self.webhook_url = call.params["url"]
        self.webhook_secret = call.params.get("secret_token")
        self.webhook_options = dict(call.params)
        if call.params.get("drop_pending_updates"):
            self.updates.clear()
        self._wake_poll("webhook")  # a waiting getUpdates ends (409 next time)
        return True

    def _delete_webhook(self, call: RecordedCall) -> bool:
        self.webhook_url = ""
        self.webhook_secret = None
        if call.params.get("drop_pending_updates"):
            self.updates.clear()
        return True

    def _get_webhook_info(self, _call: RecordedCall) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self.updates),
        }
        if self.webhook_url:
            info["max_connections"] = self.webhook_options.get("max_connections", 40)
            if allowed := self.webhook_options.get("allowed_updates"):
                info["allowed_updates"] = allowed
        return info

    def _set_my_commands(self, call: RecordedCall) -> bool:
        scope = call.params.get("scope") or {"type": "default"}
        chat = scope.get("chat_id")
        key = (
            scope["type"],
            None if chat is None else str(chat),
            call.params.get("language_code") or "",
        )
        self.scoped_commands[key] = call.params["commands"]
        self.commands = call.params["commands"]
        return True

    def _answer_callback_query(self, call: RecordedCall) -> bool:
        query_id = call.params["callback_query_id"]
        if query_id not in self.open_callbacks:
            raise ApiAnswer(400, QUERY_INVALID)
        self.open_callbacks.discard(query_id)
        self.answered_callbacks.append(dict(call.params))
        return True

    def _stored(self, call: RecordedCall, missing: str) -> dict[str, Any]:
        key = (str(call.params.get("chat_id")), int(call.params.get("message_id", 0)))
        message = self.chat_messages.get(key)
        if message is None:
            raise ApiAnswer(400, missing)
        return message

    def _edit_message_text(self, call: RecordedCall) -> dict[str, Any]:
        message = self._stored(call, EDIT_NOT_FOUND)
        if "text" not in message:
            raise ApiAnswer(400, NO_TEXT)
        if message["text"] == call.params["text"]:
            raise ApiAnswer(400, NOT_MODIFIED)
        message["text"] = call.params["text"]
        message["edit_date"] = int(time.time())
        return message

    def _edit_message_caption(self, call: RecordedCall) -> dict[str, Any]:
        message = self._stored(call, EDIT_NOT_FOUND)
        if "text" in message:
            raise ApiAnswer(400, NO_CAPTION)
        if message.get("caption") == call.params.get("caption"):
            raise ApiAnswer(400, NOT_MODIFIED)
        message["caption"] = call.params.get("caption")
        message["edit_date"] = int(time.time())
        return message

    def _delete_message(self, call: RecordedCall) -> bool:
        self._stored(call, DELETE_NOT_FOUND)
        key = (str(call.params["chat_id"]), int(call.params["message_id"]))
        del self.chat_messages[key]
        return True


def chat_object(chat_id: int, username: str | None = None) -> dict[str, Any]:
    """Return a Chat: private for positive ids, a forum supergroup for negative."""
    if chat_id < 0:
        chat: dict[str, Any] = {"id": chat_id, "type": "supergroup", "title": "Group"}
    else:
        chat = {"id": chat_id, "type": "private", "first_name": f"User{chat_id}"}
    if username:
        chat["username"] = username
    return chat


def user_object(user_id: int) -> dict[str, Any]:
    """Return a human User."""
    return {
        "id": user_id,
        "is_bot": False,
        "first_name": f"User{user_id}",
        "username": f"user{user_id}",
    }


__all__ = [
    "DELETE_NOT_FOUND",
    "EDIT_NOT_FOUND",
    "NOT_MODIFIED",
    "POLL_CONFLICT",
    "WEBHOOK_CONFLICT",
    "ApiAnswer",
    "InboundApiMixin",
    "chat_object",
    "user_object",
]
