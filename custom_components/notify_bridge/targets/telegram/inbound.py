"""What the bot does with an update: who may talk, how fast, and where it goes.

Order of checks, each before any reply: the chat or the sender must be allowed (the
chats of this bot's destinations, plus user ids listed in an option) — a stranger is
logged once and never answered; a command for another bot (`/cmd@otherbot`) is
ignored; then the per-chat rate limit; then built-in commands are answered and
everything else (other commands, plain text, button presses) becomes an
`InboundEvent` for the glue's callback.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from enum import StrEnum
import inspect
import time
from typing import Any, Final

from telegram import Bot, CallbackQuery, Chat, Message, ReplyParameters, Update, User

from ...pipeline.log import get_logger
from .calls import BotCaller, RetryAfterCaller
from .chats import SeenChats
from .commands import BridgeStatus, BuiltinCommands, CommandContext, parse_command
from .limits import OFFICIAL_LIMITS
from .sender import GENERAL_TOPIC, TelegramSendError, normalize_chat_id
from .texts import text

_LOGGER = get_logger(__name__)

DEFAULT_COMMANDS_PER_MINUTE: Final = 10
RATE_WINDOW_SECONDS: Final = 60.0
# Strangers remembered for "log once"; a flood of new chats cannot grow memory.
MAX_REMEMBERED_STRANGERS: Final = 1000
# The update kinds this bot handles (setWebhook / getUpdates `allowed_updates`).
ALLOWED_UPDATES: Final = ("message", "callback_query")


class InboundKind(StrEnum):
    """What an inbound event is (also the event entity's event types)."""

    COMMAND = "command"
    TEXT = "text"
    BUTTON = "button"


@dataclass(frozen=True, slots=True)
class InboundEvent:
    """A command, text or button press from an allowed chat, for the glue."""

    kind: InboundKind
    update_id: int
    chat_id: int
    user_id: int | None
    user_name: str | None
    username: str | None
    # The message text (commands: the whole text); None for a button press.
    text: str | None
    command: str | None = None
    args: tuple[str, ...] = ()
    # callback_data of a pressed button.
    data: str | None = None
    # The message sent (text, command) or the message the pressed button is on.
    message_id: int | None = None
    thread_id: int | None = None
    # None when only the sender is allowed (a listed user outside a destination).
    destination_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON-friendly form for bus events and event entities."""
        return {
            "kind": self.kind.value,
            "chat_id": self.chat_id,
            "user_id": self.user_id,
            "user_name": self.user_name,
            "username": self.username,
            "text": self.text,
            "command": self.command,
            "args": list(self.args),
            "data": self.data,
            "message_id": self.message_id,
            "thread_id": self.thread_id,
            "destination_id": self.destination_id,
        }


type EventCallback = Callable[[InboundEvent], Awaitable[None] | None]


@dataclass(frozen=True, slots=True)
class ChatDestination:
    """A destination of this bot: its chat (and topic) and language."""

    destination_id: str
    chat_id: int | str
    thread_id: int | None = None
    language: str | None = None


@dataclass(frozen=True, slots=True)
class InboundConfig:
    """Who may talk to the bot and how often."""

    bot_username: str
    destinations: tuple[ChatDestination, ...] = ()
    allowed_user_ids: frozenset[int] = frozenset()
    commands_per_window: int = DEFAULT_COMMANDS_PER_MINUTE
    window_seconds: float = RATE_WINDOW_SECONDS
    default_language: str | None = None


@dataclass
class InboundStats:
    """Counters for diagnostics and tests (single owner: the event loop)."""

    updates: int = 0
    strangers_ignored: int = 0
    other_bot_ignored: int = 0
    unsupported_ignored: int = 0
    rate_limited: int = 0
    builtin_answered: int = 0
    events: int = 0
    reply_failures: int = 0


class Verdict(StrEnum):
    """What the rate limiter says about one more command from a chat."""

    ALLOW = "allow"
    WARN = "warn"  # dropped; the chat is told to slow down (once per window)
    DROP = "drop"  # dropped silently


class ChatRateLimiter:
    """At most `limit` commands per chat in any `window` seconds (sliding window)."""

    def __init__(
        self, limit: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        """Start with no history."""
        self._limit = limit
        self._window = window
        self._clock = clock
        self._hits: dict[int, deque[float]] = {}
        self._warned_until: dict[int, float] = {}

    def check(self, chat_id: int) -> Verdict:
        """Count one command of a chat; dropped commands do not count."""
        now = self._clock()
        hits = self._hits.setdefault(chat_id, deque())
        while hits and hits[0] <= now - self._window:
            hits.popleft()
        if len(hits) < self._limit:
            hits.append(now)
            return Verdict.ALLOW
        if self._warned_until.get(chat_id, 0.0) > now:
            return Verdict.DROP
        self._warned_until[chat_id] = now + self._window
        return Verdict.WARN


@dataclass(frozen=True, slots=True)
class _Origin:
    """Where an update came from, once it is allowed."""

    chat_id: int
    user: User | None
    thread_id: int | None
    destination: ChatDestination | None
    language: str | None


class InboundRouter:
    """Handle one update at a time; the poller and the webhook both feed it."""

    def __init__(
        self,
        bot: Bot,
        config: InboundConfig,
        status: BridgeStatus,
        on_event: EventCallback,
        *,
        caller: BotCaller | None = None,
        seen: SeenChats | None = None,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        tz: tzinfo = UTC,
    ) -> None:
        """Bind a PTB bot, its access rules, the bridge status and the event sink."""
        self._bot = bot
        self._config = config
        self._on_event = on_event
        self._caller = caller or RetryAfterCaller()
        self._seen = seen
        self._builtins = BuiltinCommands(status, now=now, tz=tz)
        self._limiter = ChatRateLimiter(
            config.commands_per_window, config.window_seconds, clock
        )
        self._by_chat: dict[str, list[ChatDestination]] = {}
        for dest in config.destinations:
            self._by_chat.setdefault(_chat_key(dest.chat_id), []).append(dest)
        self._strangers: OrderedDict[int, None] = OrderedDict()
        self.stats = InboundStats()

    @property
    def destination_ids(self) -> tuple[str, ...]:
        """Return the ids of this bot's destinations."""
        return tuple(d.destination_id for d in self._config.destinations)

    async def async_handle_update(self, update: Update) -> None:
        """Handle one update; exceptions of the glue's callback propagate."""
        self.stats.updates += 1
        if self._seen is not None:
            # Strangers too: the chat form offers chats before they are destinations.
            self._seen.add(update)
        if update.message is not None:
            await self._handle_message(update.update_id, update.message)
        elif update.callback_query is not None:
            await self._handle_button(update.update_id, update.callback_query)
        else:
            self.stats.unsupported_ignored += 1

    # ---- access ----------------------------------------------------------------------

    def _origin(
        self, chat: Chat | None, user: User | None, thread_id: int | None
    ) -> _Origin | None:
        """Return the origin when the chat or the sender is allowed, else None."""
        chat_id = chat.id if chat is not None else (user.id if user else None)
        if chat_id is None:
            return None
        destination = self._destination(chat, thread_id)
        allowed_user = user is not None and user.id in self._config.allowed_user_ids
        if destination is None and not allowed_user:
            self._ignore_stranger(chat_id)
            return None
        language = destination.language if destination else None
        return _Origin(
            chat_id,
            user,
            thread_id,
            destination,
            language or self._config.default_language,
        )

    def _destination(
        self, chat: Chat | None, thread_id: int | None
    ) -> ChatDestination | None:
        if chat is None:
            return None
        candidates = self._by_chat.get(str(chat.id), [])
        if not candidates and chat.username:
            candidates = self._by_chat.get(f"@{chat.username.lower()}", [])
        if not candidates:
            return None
        # A forum chat may hold several destinations: prefer the message's topic,
        # then the chat itself (General), then any destination of the chat.
        for wanted in (thread_id, None):
            for dest in candidates:
                topic = None if dest.thread_id == GENERAL_TOPIC else dest.thread_id
                if topic == wanted:
                    return dest
        return candidates[0]

    def _ignore_stranger(self, chat_id: int) -> None:
        self.stats.strangers_ignored += 1
        if chat_id in self._strangers:
            self._strangers.move_to_end(chat_id)
            return
        self._strangers[chat_id] = None
        if len(self._strangers) > MAX_REMEMBERED_STRANGERS:
            self._strangers.popitem(last=False)
        _LOGGER.info(
            "Telegram: ignoring chat %s (not a destination of this bot, sender not"
            " allowed); further updates from it are ignored silently",
            chat_id,
        )

    # ---- messages ----------------------------------------------------------------------

    async def _handle_message(self, update_id: int, message: Message) -> None:
        thread_id = message.message_thread_id if message.is_topic_message else None
        origin = self._origin(message.chat, message.from_user, thread_id)
        if origin is None:
            return
        if message.text is None:
            self.stats.unsupported_ignored += 1
            return
        command = parse_command(message.text)
        if command is not None and not command.addressed_to(self._config.bot_username):
            self.stats.other_bot_ignored += 1
            return
        if not await self._within_rate(origin, message):
            return
        builtin = self._builtins.resolve(command.name) if command else None
        if command is not None and builtin is not None:
            reply = await self._builtins.async_run(
                builtin, command.args, self._context(origin)
            )
            self.stats.builtin_answered += 1
            await self._reply(origin, message.message_id, reply)
            return
        await self._emit(
            _event(
                InboundKind.COMMAND if command else InboundKind.TEXT,
                update_id,
                origin,
                text=message.text,
                command=command.name if command else None,
                args=command.args if command else (),
                message_id=message.message_id,
            )
        )

    def _context(self, origin: _Origin) -> CommandContext:
        return CommandContext(
            language=origin.language,
            destination_id=origin.destination.destination_id
            if origin.destination
            else None,
            bot_destination_ids=self.destination_ids,
        )

    async def _within_rate(self, origin: _Origin, message: Message | None) -> bool:
        """Return whether the chat may go on; tell it to slow down once per window."""
        verdict = self._limiter.check(origin.chat_id)
        if verdict is Verdict.ALLOW:
            return True
        self.stats.rate_limited += 1
        if verdict is Verdict.WARN:
            reply = text(
                origin.language,
                "slow_down",
                limit=self._config.commands_per_window,
                window=f"{self._config.window_seconds:g}",
            )
            await self._reply(origin, message.message_id if message else None, reply)
        return False

    async def _reply(self, origin: _Origin, reply_to: int | None, reply: str) -> None:
        reply = reply[: OFFICIAL_LIMITS.text_chars]
        reply_parameters = (
            ReplyParameters(reply_to, allow_sending_without_reply=True)
            if reply_to is not None
            else None
        )
        try:
            await self._caller(
                origin.chat_id,
                lambda: self._bot.send_message(
                    origin.chat_id,
                    reply,
                    message_thread_id=origin.thread_id,
                    reply_parameters=reply_parameters,
                ),
            )
        except TelegramSendError as err:
            # The command was handled; a reply Telegram refuses is only logged.
            self.stats.reply_failures += 1
            _LOGGER.warning("Telegram reply to chat %s failed: %s", origin.chat_id, err)

    # ---- buttons -----------------------------------------------------------------------

    async def _handle_button(self, update_id: int, query: CallbackQuery) -> None:
        message = query.message
        chat = message.chat if message is not None else None
        thread_id = None
        if isinstance(message, Message) and message.is_topic_message:
            thread_id = message.message_thread_id
        origin = self._origin(chat, query.from_user, thread_id)
        if origin is None:
            return  # strangers are never answered, not even their spinner
        allowed = await self._within_rate(origin, None)
        # Answer every allowed press, also a dropped one, so the spinner stops.
        await self._answer(query)
        if not allowed:
            return
        await self._emit(
            _event(
                InboundKind.BUTTON,
                update_id,
                origin,
                text=None,
                data=query.data,
                message_id=message.message_id if message is not None else None,
            )
        )

    async def _answer(self, query: CallbackQuery) -> None:
        try:
            await self._caller(None, lambda: self._bot.answer_callback_query(query.id))
        except TelegramSendError as err:
            # Too old (> 15 min) or answered already: the press still counts.
            _LOGGER.info("Telegram callback query not answered: %s", err)

    async def _emit(self, event: InboundEvent) -> None:
        self.stats.events += 1
        result = self._on_event(event)
        if inspect.isawaitable(result):
            await result


def _event(
    kind: InboundKind, update_id: int, origin: _Origin, **fields: Any
) -> InboundEvent:
    user = origin.user
    return InboundEvent(
        kind=kind,
        update_id=update_id,
        chat_id=origin.chat_id,
        user_id=user.id if user else None,
        user_name=user.full_name if user else None,
        username=user.username if user else None,
        thread_id=origin.thread_id,
        destination_id=origin.destination.destination_id
        if origin.destination
        else None,
        **fields,
    )


def _chat_key(chat_id: int | str) -> str:
    chat = normalize_chat_id(chat_id)
    return chat.lower() if isinstance(chat, str) else str(chat)


__all__ = [
    "ALLOWED_UPDATES",
    "DEFAULT_COMMANDS_PER_MINUTE",
    "ChatDestination",
    "ChatRateLimiter",
    "EventCallback",
    "InboundConfig",
    "InboundEvent",
    "InboundKind",
    "InboundRouter",
    "InboundStats",
    "Verdict",
]
