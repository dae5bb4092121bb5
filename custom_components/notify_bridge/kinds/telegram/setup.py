"""Setting up a Telegram bot entry: the bot, its file_id cache, its chats."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
import logging
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import (
    ConfigEntryAuthFailed,
    ConfigEntryNotReady,
    HomeAssistantError,
)
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.httpx_client import get_async_client
from homeassistant.helpers.storage import Store
from telegram.error import InvalidToken, TelegramError

from ...const import CONF_LANGUAGE, DOMAIN
from ...pipeline.policy import RetryPolicy
from ...runtime import BridgeHub, TargetRuntime
from ...targets.telegram import (
    TELEGRAM_RATE_LIMITS,
    FileIdCache,
    RateLimits,
    TelegramBot,
    TelegramDestination,
)
from ...targets.telegram.chats import SeenChats
from ...targets.telegram.setup import (
    CONF_API_BASE_URL,
    CONF_BOT_ID,
    CONF_BOT_TOKEN,
    CONF_CHAT_ID,
    CONF_DISABLE_NOTIFICATION,
    CONF_MESSAGE_THREAD_ID,
    CONF_SEND_LARGE_VIDEOS_AS_DOCUMENTS,
    ReauthingTelegramBot,
    destination_unique_id,
    limits_from_options,
    redact,
    url_policy_from_options,
)
from ..shared.setup import async_register_destinations
from .inbound import TelegramInbound
from .options import UpdatesMode
from .status import DeliveredLog

_LOGGER = logging.getLogger(__name__)
# hass.data: the chats each bot's receiver saw, by bot (entry unique id).
DATA_SEEN_CHATS = f"{DOMAIN}_seen_chats"

# The file_id cache of a bot is saved this long after its last change (seconds).
FILE_CACHE_SAVE_DELAY = 10
FILE_CACHE_STORE_VERSION = 1
# Sending: Telegram's published flood limits and the sender's own retries (tests
# swap these module attributes). The outbound guard of media URLs comes from the
# entry's allowed media hosts.
RATE_LIMITS: RateLimits = TELEGRAM_RATE_LIMITS
SEND_RETRY = RetryPolicy()
# A form answers quickly: one try, a short timeout.
FLOW_RETRY = RetryPolicy(attempts=1, rate_limit_retries=1, max_retry_after=5.0)
FLOW_TIMEOUT = 10.0


def file_cache_store_key(bot_id: str | int) -> str:
    """Return the Store key of a bot's file_id cache (file_ids are per bot)."""
    return f"{DOMAIN}.telegram_file_ids.{bot_id}"


def make_bot(
    hass: HomeAssistant,
    data: Mapping[str, Any],
    *,
    file_cache: FileIdCache | None = None,
    on_auth_failed: Callable[[], None] | None = None,
    for_flow: bool = False,
) -> ReauthingTelegramBot:
    """Return a bot for entry data (or form input); downloads use HA's session."""
    extra: dict[str, Any] = (
        {"retry": FLOW_RETRY, "request_timeout": FLOW_TIMEOUT}
        if for_flow
        else {"retry": SEND_RETRY}
    )
    return ReauthingTelegramBot(
        data[CONF_BOT_TOKEN],
        session=async_get_clientsession(hass),
        # Bot API calls share Home Assistant's httpx client (inject-websession).
        http_client=get_async_client(hass),
        api_base_url=data.get(CONF_API_BASE_URL) or None,
        limits=limits_from_options(data),
        rate_limits=RATE_LIMITS,
        file_cache=file_cache,
        url_policy=url_policy_from_options(data),
        on_auth_failed=on_auth_failed,
        **extra,
    )


# --- setup ----------------------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class TelegramRuntime(TargetRuntime):
    """Runtime data of a Telegram bot entry: its chats and the one bot."""

    # Not in the repr: PTB's Bot repr shows the token.
    bot: TelegramBot = field(repr=False)
    # What was delivered per chat (/latest); the receiving side, when enabled.
    delivered: DeliveredLog = field(default_factory=DeliveredLog, repr=False)
    inbound: TelegramInbound | None = field(default=None, repr=False)


type TelegramConfigEntry = ConfigEntry[TelegramRuntime]


async def _async_start_bot(
    hass: HomeAssistant, hub: BridgeHub, entry: TelegramConfigEntry, cache: FileIdCache
) -> ReauthingTelegramBot:
    """Start the bot, checking the token; failures say which bot and why."""

    @callback
    def start_reauth() -> None:
        # Nothing can be delivered with a refused token: the chats are unavailable
        # until the new token reloads the entry.
        hub.set_cannot_deliver(entry, "Telegram refused the bot token")
        entry.async_start_reauth(hass)

    bot = make_bot(hass, entry.data, file_cache=cache, on_auth_failed=start_reauth)
    # Kept across reloads (adding a chat reloads the entry): the receiver has taken
    # the updates it saw, so they would be gone from the next chat form otherwise.
    seen: dict[str, SeenChats] = hass.data.setdefault(DATA_SEEN_CHATS, {})
    bot.seen_chats = seen.setdefault(entry.unique_id or entry.entry_id, SeenChats())
    try:
        await bot.async_start()
    except InvalidToken:
        await bot.async_close()
        # The PTB message quotes the token: never chain or log it.
        raise ConfigEntryAuthFailed(
            translation_domain=DOMAIN,
            translation_key="telegram_auth_failed",
            translation_placeholders={"bot": entry.title},
        ) from None
    except TelegramError as err:
        await bot.async_close()
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="telegram_unreachable",
            translation_placeholders={
                "bot": entry.title,
                "error": redact(err.message, entry.data[CONF_BOT_TOKEN]),
            },
        ) from None
    return bot


def _chat(
    hass: HomeAssistant,
    entry: TelegramConfigEntry,
    runtime: TelegramRuntime,
    subentry: ConfigSubentry,
) -> TelegramDestination:
    data = subentry.data
    return TelegramDestination(
        runtime.bot,
        destination_id=subentry.subentry_id,
        name=subentry.title,
        chat_id=data[CONF_CHAT_ID],
        message_thread_id=data.get(CONF_MESSAGE_THREAD_ID),
        disable_notification=data.get(CONF_DISABLE_NOTIFICATION, False),
        send_large_videos_as_documents=data.get(
            CONF_SEND_LARGE_VIDEOS_AS_DOCUMENTS, False
        ),
        on_chat_migrated=partial(_store_migrated_chat, hass, entry),
        on_delivered=partial(runtime.delivered.record, subentry.subentry_id),
        language=data.get(CONF_LANGUAGE),
        # Read when needed: Home Assistant's language may change while running.
        default_language=lambda: hass.config.language,
    )


@callback
def _store_migrated_chat(
    hass: HomeAssistant, entry: ConfigEntry, subentry_id: str, chat_id: int
) -> None:
    """Store a group's new supergroup chat id in its destination subentry."""
    subentry = entry.subentries.get(subentry_id)
    if subentry is None or subentry.data.get(CONF_CHAT_ID) == chat_id:
        return
    unique_id = destination_unique_id(
        chat_id, subentry.data.get(CONF_MESSAGE_THREAD_ID)
    )
    try:
        hass.config_entries.async_update_subentry(
            entry,
            subentry,
            data={**subentry.data, CONF_CHAT_ID: chat_id},
            unique_id=unique_id,
        )
    except HomeAssistantError as err:
        # Another destination already has the new chat: keep this one's id.
        _LOGGER.warning("Could not store chat id %s: %s", chat_id, err)


async def async_setup_telegram(
    hass: HomeAssistant, hub: BridgeHub, entry: TelegramConfigEntry
) -> TelegramRuntime:
    """Start the entry's bot (checking the token) and register its chats."""
    bot_id = entry.unique_id or entry.data[CONF_BOT_ID]
    store: Store[dict[str, Any]] = Store(
        hass, FILE_CACHE_STORE_VERSION, file_cache_store_key(bot_id)
    )
    cache = FileIdCache.from_dict(await store.async_load())
    bot = await _async_start_bot(hass, hub, entry, cache)

    @callback
    def save_soon() -> None:
        store.async_delay_save(cache.as_dict, FILE_CACHE_SAVE_DELAY)

    cache.on_change = save_soon

    async def async_close() -> None:
        # Written now, not later: a reload reads the store before a delayed save.
        cache.on_change = None
        await store.async_save(cache.as_dict())
        await bot.async_close()

    entry.async_on_unload(async_close)
    runtime = TelegramRuntime(bot=bot)
    await async_register_destinations(
        hub, entry, runtime, lambda subentry: _chat(hass, entry, runtime, subentry)
    )
    inbound = TelegramInbound(hass, hub, entry, bot, runtime.delivered)
    await inbound.async_start()
    # Registered after the bot's close: unloading stops receiving first.
    entry.async_on_unload(inbound.async_stop)
    if inbound.mode is not UpdatesMode.OFF:
        runtime.inbound = inbound
    return runtime
