"""Bot commands: parsing `/cmd@bot args`, the built-ins, and setMyCommands per chat.

The built-ins (/help, /status, /latest, /mute, /unmute, /flush) answer from a
`BridgeStatus`, a Protocol the Home Assistant glue implements over the hub (outbox,
health, dispatch history, quiet hours); nothing here knows Home Assistant.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
import re
from typing import Final, Protocol

from telegram import Bot, BotCommand, BotCommandScopeChat

from ...pipeline.log import get_logger
from .calls import BotCaller
from .sender import TelegramSendError
from .texts import text

_LOGGER = get_logger(__name__)

# Command names Telegram accepts: 1-32 letters, digits, underscores.
COMMAND_RE: Final = re.compile(
    r"/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{1,64}))?(?:\s+(.*))?", re.DOTALL
)
BUILTIN_COMMANDS: Final = ("help", "status", "latest", "mute", "unmute", "flush")
# Telegram clients send /start when a user opens the bot: answer it like /help.
COMMAND_ALIASES: Final = {"start": "help"}
DEFAULT_LATEST: Final = 5
MAX_LATEST: Final = 10
# A /latest item is cut to this many characters so ten fit one message.
LATEST_ITEM_CHARS: Final = 200
MAX_MUTE: Final = timedelta(days=30)
DURATION_RE: Final = re.compile(r"(\d{1,6})\s*([smhdw]?)", re.IGNORECASE)
DURATION_UNITS: Final = {
    "s": 1,
    "": 60,  # a bare number is minutes
    "m": 60,
    "h": 3600,
    "d": 86400,
    "w": 7 * 86400,
}


@dataclass(frozen=True, slots=True)
class ParsedCommand:
    """A command message: name (lower case), arguments, and the bot it names."""

    name: str
    args: tuple[str, ...]
    arg_text: str
    bot_username: str | None

    def addressed_to(self, username: str) -> bool:
        """Return whether the command is for this bot (no @name means any bot)."""
        return self.bot_username is None or (
            self.bot_username.casefold() == username.casefold()
        )


def parse_command(message_text: str | None) -> ParsedCommand | None:
    """Return the command a message text is, or None when it is not one."""
    match = COMMAND_RE.fullmatch((message_text or "").strip())
    if match is None:
        return None
    arg_text = (match.group(3) or "").strip()
    return ParsedCommand(
        name=match.group(1).lower(),
        args=tuple(arg_text.split()),
        arg_text=arg_text,
        bot_username=match.group(2),
    )


def parse_duration(value: str) -> timedelta | None:
    """Return a duration like "30m", "2h", "1d", "1h30m" or "90" (minutes)."""
    compact = value.strip().lower()
    if not compact:
        return None
    seconds, position = 0, 0
    for match in DURATION_RE.finditer(compact):
        if compact[position : match.start()].strip():
            return None
        seconds += int(match.group(1)) * DURATION_UNITS[match.group(2).lower()]
        position = match.end()
    if compact[position:].strip() or seconds <= 0:
        return None
    return timedelta(seconds=seconds)


# ---- what the glue implements -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class DestinationStatus:
    """One destination as /status shows it."""

    destination_id: str
    name: str
    backlog: int
    failed: int
    muted_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class StatusReport:
    """What /status answers: destinations and the names of failing sources."""

    destinations: Sequence[DestinationStatus]
    source_problems: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class DeliveredNotification:
    """A notification delivered to a destination (dispatch history)."""

    dispatch_id: str
    title: str | None
    message: str
    delivered_at: datetime


class BridgeStatusError(Exception):
    """A refusal the user should read in the chat (its message is shown)."""


class BridgeStatus(Protocol):
    """What the built-in commands ask the bridge; implemented by the HA glue."""

    async def async_status(self, destination_ids: Sequence[str]) -> StatusReport:
        """Return backlog and failures of these destinations, and failing sources."""

    async def async_latest(
        self, destination_id: str, limit: int
    ) -> Sequence[DeliveredNotification]:
        """Return up to `limit` notifications delivered there, newest first."""

    async def async_mute(self, destination_id: str, until: datetime) -> None:
        """Hold the destination's notifications (quiet hours, defer) until then."""

    async def async_unmute(self, destination_id: str) -> int:
        """Stop holding; deliver what was held as a digest; return how many."""

    async def async_flush(self, destination_id: str) -> int:
        """Deliver what is held now; return how many."""


# ---- built-ins ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CommandContext:
    """Where a command came from: its destination (if any) and the bot's others."""

    language: str | None
    destination_id: str | None
    bot_destination_ids: tuple[str, ...]


class BuiltinCommands:
    """Answer the built-in commands; returns the reply text."""

    def __init__(
        self,
        status: BridgeStatus,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        tz: tzinfo = UTC,
    ) -> None:
        """Answer from `status`; times are shown in `tz`."""
        self._status = status
        self._now = now
        self._tz = tz

    @staticmethod
    def resolve(name: str) -> str | None:
        """Return the built-in a command name means, or None."""
        name = COMMAND_ALIASES.get(name, name)
        return name if name in BUILTIN_COMMANDS else None

    async def async_run(
        self, name: str, args: tuple[str, ...], ctx: CommandContext
    ) -> str:
        """Run a built-in (see `resolve`); failures become a reply, never raise."""
        try:
            return await self._dispatch(name, args, ctx)
        except BridgeStatusError as err:
            return text(ctx.language, "failed", error=str(err))
        except Exception:
            _LOGGER.exception("Telegram command /%s failed", name)
            return text(ctx.language, "failed_internal")

    async def _dispatch(
        self, name: str, args: tuple[str, ...], ctx: CommandContext
    ) -> str:
        if name == "help":
            return text(ctx.language, "help")
        if name == "status":
            return await self._status_text(ctx)
        if ctx.destination_id is None:
            # A listed user in a chat that is no destination: nothing to act on.
            return text(ctx.language, "no_destination")
        handlers = {
            "latest": self._latest,
            "mute": self._mute,
            "unmute": self._unmute,
            "flush": self._flush,
        }
        return await handlers[name](args, ctx, ctx.destination_id)

    async def _status_text(self, ctx: CommandContext) -> str:
        report = await self._status.async_status(ctx.bot_destination_ids)
        lines = [text(ctx.language, "status_header")]
        for dest in report.destinations:
            lines.append(
                text(
                    ctx.language,
                    "status_destination",
                    name=dest.name,
                    backlog=dest.backlog,
                    failed=dest.failed,
                )
            )
            if dest.muted_until is not None:
                until = self._format_time(dest.muted_until)
                lines.append(text(ctx.language, "status_muted", until=until))
        if not report.destinations:
            lines.append(text(ctx.language, "status_no_destinations"))
        if report.source_problems:
            sources = ", ".join(report.source_problems)
            lines.append(text(ctx.language, "status_sources", sources=sources))
        else:
            lines.append(text(ctx.language, "status_sources_ok"))
        return "\n".join(lines)

    async def _latest(
        self, args: tuple[str, ...], ctx: CommandContext, destination_id: str
    ) -> str:
        count = DEFAULT_LATEST
        if args:
            if not args[0].isdigit() or not 1 <= int(args[0]) <= MAX_LATEST:
                return text(ctx.language, "latest_usage", max=MAX_LATEST)
            count = int(args[0])
        items = list(await self._status.async_latest(destination_id, count))[:count]
        if not items:
            return text(ctx.language, "latest_none")
        lines = [text(ctx.language, "latest_header", count=len(items))]
        for item in items:
            body = " ".join(part for part in (item.title, item.message) if part)
            if len(body) > LATEST_ITEM_CHARS:
                body = body[: LATEST_ITEM_CHARS - 1] + "…"
            when = self._format_time(item.delivered_at)
            lines.append(text(ctx.language, "latest_item", when=when, text=body))
        return "\n".join(lines)

    async def _mute(
        self, args: tuple[str, ...], ctx: CommandContext, destination_id: str
    ) -> str:
        duration = parse_duration(" ".join(args)) if args else None
        if duration is None or duration > MAX_MUTE:
            return text(ctx.language, "mute_usage", max=MAX_MUTE.days)
        until = self._now() + duration
        await self._status.async_mute(destination_id, until)
        return text(ctx.language, "muted", until=self._format_time(until))

    async def _unmute(
        self, _args: tuple[str, ...], ctx: CommandContext, destination_id: str
    ) -> str:
        count = await self._status.async_unmute(destination_id)
        return text(ctx.language, "unmuted", count=count)

    async def _flush(
        self, _args: tuple[str, ...], ctx: CommandContext, destination_id: str
    ) -> str:
        count = await self._status.async_flush(destination_id)
        return text(ctx.language, "flushed", count=count)

    def _format_time(self, moment: datetime) -> str:
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(self._tz).strftime("%Y-%m-%d %H:%M")


# ---- setMyCommands ------------------------------------------------------------------


def command_list(language: str | None) -> list[BotCommand]:
    """Return the built-ins with their descriptions in a language."""
    return [
        BotCommand(name, text(language, f"cmd_{name}")) for name in BUILTIN_COMMANDS
    ]


async def async_register_commands(
    bot: Bot,
    chats: Iterable[tuple[int | str, str | None]],
    caller: BotCaller,
) -> list[int | str]:
    """Register the built-ins per chat scope (chat id, language); 429 is honoured.

    A chat that refuses (channels have no commands, a user who never started the
    bot) is logged and skipped; returns the chats that failed.
    """
    failed: list[int | str] = []
    seen: set[str] = set()
    for chat_id, language in chats:
        if str(chat_id) in seen:
            continue
        seen.add(str(chat_id))
        try:
            await caller(None, _set_commands(bot, chat_id, language))
        except TelegramSendError as err:
            _LOGGER.info(
                "Telegram commands not registered for chat %s: %s", chat_id, err
            )
            failed.append(chat_id)
    return failed


def _set_commands(
    bot: Bot, chat_id: int | str, language: str | None
) -> Callable[[], Awaitable[bool]]:
    commands = command_list(language)
    scope = BotCommandScopeChat(chat_id)
    return lambda: bot.set_my_commands(commands, scope=scope)


__all__ = [
    "BUILTIN_COMMANDS",
    "BridgeStatus",
    "BridgeStatusError",
    "BuiltinCommands",
    "CommandContext",
    "DeliveredNotification",
    "DestinationStatus",
    "ParsedCommand",
    "StatusReport",
    "async_register_commands",
    "command_list",
    "parse_command",
    "parse_duration",
]
