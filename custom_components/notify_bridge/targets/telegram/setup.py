"""What the Home Assistant glue of the Telegram target needs, kept free of HA imports.

Option names, validation of what users type (token, API URL, chat id), the limits an
entry's options imply, checking a token with getMe, and a bot that reports when
Telegram stops accepting its token (so Home Assistant can ask for a new one).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
import ipaddress
import logging
import re
from typing import Any

from telegram.error import InvalidToken
from yarl import URL

from ...const import CONF_LANGUAGE
from ...net import UrlPolicy, connect_reason
from ...redaction import register_secret
from .limits import MB, TelegramLimits, limits_for
from .sender import (  # the public names of the split sender modules
    GENERAL_TOPIC,
    CallStats,
    TelegramBot,
    TelegramSendError,
    normalize_chat_id,
)

_LOGGER = logging.getLogger(__name__)

# Entry data
CONF_BOT_TOKEN = "bot_token"  # noqa: S105 - a field name, not a secret
CONF_API_BASE_URL = "api_base_url"
CONF_MAX_UPLOAD_MB = "max_upload_mb"
CONF_BOT_ID = "bot_id"
CONF_USERNAME = "username"
# Hosts/networks media URLs may reach although they are not public (comma-separated).
CONF_ALLOWED_MEDIA_HOSTS = "allowed_media_hosts"
# Destination subentry data
CONF_CHAT_ID = "chat_id"
CONF_MESSAGE_THREAD_ID = "message_thread_id"
CONF_DISABLE_NOTIFICATION = "disable_notification"
CONF_SEND_LARGE_VIDEOS_AS_DOCUMENTS = "send_large_videos_as_documents"

# "<bot id>:<secret>" as BotFather hands it out.
TOKEN_RE = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{1,100}$")
# A public chat or channel username (5-32 characters, letters, digits, underscore).
CHANNEL_RE = re.compile(r"^@[A-Za-z][A-Za-z0-9_]{3,31}$")
# The largest upload a self-hosted Bot API server accepts.
MAX_UPLOAD_MB = 2000
# One label of a host name (letters, digits, inner hyphens).
HOST_LABEL_RE = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


class AuthFailedError(Exception):
    """Telegram refused the bot token."""


class CannotConnectError(Exception):
    """The Bot API server could not be reached or answered with an error."""

    def __init__(self, message: str, reason: str = "other") -> None:
        """Keep why (a key of `net.CONNECT_REASONS`); the chain is cut (token)."""
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class BotIdentity:
    """Who a token belongs to (getMe)."""

    bot_id: int
    username: str

    @property
    def title(self) -> str:
        """Return the entry title: the bot's @username."""
        return f"@{self.username}"


def valid_token(token: str) -> bool:
    """Return whether a text looks like a bot token (checked before any request)."""
    return bool(TOKEN_RE.fullmatch(token))


def redact(text: str, token: str) -> str:
    """Return a text with the token hidden (error messages may quote request URLs)."""
    if not token:
        return text
    secret = token.split(":", 1)[-1]
    return text.replace(token, "***").replace(secret, "***")


def normalize_api_base_url(value: str | None) -> str | None:
    """Return a self-hosted Bot API root ('' = the official server); None if invalid.

    Accepts what people paste: a trailing slash or a trailing /bot is dropped.
    """
    text = (value or "").strip()
    if not text:
        return ""
    try:
        url = URL(text)
    except ValueError:
        return None
    if url.scheme not in ("http", "https") or not url.host:
        return None
    path = url.path.rstrip("/").removesuffix("/bot").rstrip("/")
    return str(url.with_path(path or "/").with_query(None).with_fragment(None)).rstrip(
        "/"
    )


def limits_from_options(options: Mapping[str, Any]) -> TelegramLimits:
    """Return the limits of an entry: official, or self-hosted with its upload cap."""
    api_base_url = options.get(CONF_API_BASE_URL) or None
    overrides: dict[str, int] = {}
    if api_base_url and (upload_mb := options.get(CONF_MAX_UPLOAD_MB)):
        upload = int(upload_mb) * MB
        overrides = {
            "video_bytes": upload,
            "document_bytes": upload,
            "media_group_bytes": upload,
        }
    return limits_for(api_base_url, overrides)


def parse_allowed_media_hosts(value: Any) -> tuple[str, ...]:
    """Return the allowlist entries of a form value (commas or whitespace between).

    An entry is an IP address, a CIDR network (192.168.1.0/24, fd00::/8) or a host
    name; addresses and networks are normalized, names lower-cased. Raises
    ValueError naming the first malformed entry. Empty = only public addresses.
    """
    entries: list[str] = []
    for raw in re.split(r"[,\s]+", str(value or "")):
        if raw:
            entries.append(_allowlist_entry(raw))
    return tuple(dict.fromkeys(entries))


def _allowlist_entry(raw: str) -> str:
    if "%" in raw:
        # A zone (fe80::1%eth0) is dropped when names resolve; list the address.
        raise ValueError(f"not a host name, address or network: {raw}")
    try:
        network = ipaddress.ip_network(
            raw.removeprefix("[").removesuffix("]"), strict=False
        )
    except ValueError:
        pass
    else:
        if network.num_addresses == 1:
            return str(network.network_address)
        return str(network)
    host = raw.lower().rstrip(".")
    labels = host.split(".")
    # A last label of digits is a mistyped address (10.0.0.300), not a name.
    if (
        len(host) > 253
        or not all(HOST_LABEL_RE.fullmatch(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise ValueError(f"not a host name, address or network: {raw}")
    return host


def url_policy_from_options(options: Mapping[str, Any]) -> UrlPolicy:
    """Return the outbound guard of an entry's media downloads.

    Without allowed hosts only public addresses are reachable; cloud metadata
    addresses stay refused unless listed themselves (see net.check_address).
    """
    try:
        allowlist = parse_allowed_media_hosts(options.get(CONF_ALLOWED_MEDIA_HOSTS))
    except ValueError as err:
        # Stored data is validated by the flow; if it is not, fail closed.
        _LOGGER.warning("Ignoring the allowed media hosts: %s", err)
        allowlist = ()
    return UrlPolicy(allowlist=allowlist)


def parse_chat_id(value: Any) -> int | str | None:
    """Return a chat id (a number, or an @username); None when it is neither."""
    text = str(value if value is not None else "").strip()
    if not text:
        return None
    if re.fullmatch(r"-?\d{1,20}", text):
        return int(text)
    if not text.startswith("@"):
        text = f"@{text}"
    return text if CHANNEL_RE.fullmatch(text) else None


def parse_thread_id(value: Any) -> int | None:
    """Return a forum topic id from a form value (numbers come as floats)."""
    if value in (None, ""):
        return None
    number = float(value)
    if number < 1 or not number.is_integer():
        raise ValueError("a topic id is a positive whole number")
    return int(number)


def destination_unique_id(chat_id: int | str, thread_id: int | None) -> str:
    """Return what makes a destination unique: the chat and the topic.

    Topic 1 (General) is the chat itself: Telegram is addressed without a thread id.
    """
    chat = normalize_chat_id(chat_id)
    key = chat.lower() if isinstance(chat, str) else str(chat)
    if thread_id in (None, GENERAL_TOPIC):
        return key
    return f"{key}/{thread_id}"


async def async_identify(bot: TelegramBot) -> BotIdentity:
    """Check the bot's token with getMe; AuthFailedError or CannotConnectError."""
    try:
        user = await bot.async_get_me()
    except TelegramSendError as err:
        if isinstance(err.__cause__, InvalidToken):
            raise AuthFailedError from None
        raise CannotConnectError(
            redact(str(err), bot.bot.token), connect_reason(err)
        ) from None
    return BotIdentity(bot_id=user.id, username=user.username or str(user.id))


class ReauthingTelegramBot(TelegramBot):
    """A bot that calls `on_auth_failed` when Telegram refuses its token mid-send."""

    def __init__(
        self,
        token: str,
        *,
        on_auth_failed: Callable[[], None] | None = None,
        **kwargs: Any,
    ) -> None:
        """Create the bot; `on_auth_failed` runs on the event loop."""
        # httpx/httpx2 log request URLs, token included: masked in every record.
        register_secret(token)
        super().__init__(token, **kwargs)
        self.on_auth_failed = on_auth_failed

    async def async_call[T](
        self,
        chat_id: int | str | None,
        call: Callable[[], Awaitable[T]],
        stats: CallStats,
        **options: Any,
    ) -> T:
        """Run a call; a refused token (401/404) is reported before it is raised."""
        try:
            return await super().async_call(chat_id, call, stats, **options)
        except TelegramSendError as err:
            if isinstance(err.__cause__, InvalidToken) and self.on_auth_failed:
                self.on_auth_failed()
            raise


__all__ = [
    "CONF_ALLOWED_MEDIA_HOSTS",
    "CONF_API_BASE_URL",
    "CONF_BOT_ID",
    "CONF_BOT_TOKEN",
    "CONF_CHAT_ID",
    "CONF_DISABLE_NOTIFICATION",
    "CONF_LANGUAGE",
    "CONF_MAX_UPLOAD_MB",
    "CONF_MESSAGE_THREAD_ID",
    "CONF_SEND_LARGE_VIDEOS_AS_DOCUMENTS",
    "CONF_USERNAME",
    "MAX_UPLOAD_MB",
    "AuthFailedError",
    "BotIdentity",
    "CannotConnectError",
    "ReauthingTelegramBot",
    "async_identify",
    "destination_unique_id",
    "limits_from_options",
    "normalize_api_base_url",
    "parse_allowed_media_hosts",
    "parse_chat_id",
    "parse_thread_id",
    "redact",
    "url_policy_from_options",
    "valid_token",
]
