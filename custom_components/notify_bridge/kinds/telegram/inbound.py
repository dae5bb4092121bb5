"""Receiving the bot's updates in Home Assistant: polling or webhook, and events.

One `TelegramInbound` per bot entry. It builds the HA-free `InboundRouter` (access,
rate limit, built-ins) and feeds it from exactly one consumer: the `UpdatePoller`
(deleting any webhook first) or the HA webhook component (after setWebhook with a
generated secret). The getUpdates offset, the webhook id and its secret live in one
Store per bot, so a restart neither loses nor repeats an update and keeps its URL.
Everything the router does not answer itself becomes a bus event and fires the
destination's event entity; strangers never get that far (the router drops them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime
import logging
import secrets
from typing import Any, Final

from aiohttp import web
from homeassistant.components import webhook
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryError
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from ...const import (
    DOMAIN,
    EVENT_BUTTON,
    EVENT_COMMAND,
    EVENT_MESSAGE,
    SIGNAL_DESTINATION_INBOUND,
)
from ...runtime import BridgeHub
from ...targets.telegram import TelegramBot
from ...targets.telegram.bot import CallStats
from ...targets.telegram.calls import BotCaller
from ...targets.telegram.commands import async_register_commands
from ...targets.telegram.inbound import (
    ChatDestination,
    InboundConfig,
    InboundEvent,
    InboundKind,
    InboundRouter,
)
from ...targets.telegram.sender import TelegramSendError, normalize_chat_id
from ...targets.telegram.setup import (
    CONF_CHAT_ID,
    CONF_LANGUAGE,
    CONF_MESSAGE_THREAD_ID,
    CONF_USERNAME,
)
from ...targets.telegram.updates import OffsetStore, PollerState, UpdatePoller
from ...targets.telegram.webhook import (
    TelegramWebhook,
    async_set_webhook,
    async_use_polling,
    new_secret_token,
)
from .options import (
    UpdatesMode,
    allowed_user_ids,
    commands_per_minute,
    external_base_url,
    updates_mode,
)
from .status import DeliveredLog, HubBridgeStatus

_LOGGER = logging.getLogger(__name__)

UPDATES_STORE_VERSION: Final = 1
BUS_EVENTS: Final = {
    InboundKind.COMMAND: EVENT_COMMAND,
    InboundKind.TEXT: EVENT_MESSAGE,
    InboundKind.BUTTON: EVENT_BUTTON,
}
# The unique id suffix of a destination's event entity.
INBOUND_ENTITY_KEY: Final = "inbound"


def updates_store_key(bot_id: str | int) -> str:
    """Return the Store key of a bot's update offset and webhook."""
    return f"{DOMAIN}.telegram_updates.{bot_id}"


class UpdatesStore:
    """The offset, webhook id and secret of one bot, in one HA Store."""

    def __init__(self, hass: HomeAssistant, bot_id: str | int) -> None:
        """Bind the bot's Store; `async_load` before use."""
        self._store: Store[dict[str, Any]] = Store(
            hass, UPDATES_STORE_VERSION, updates_store_key(bot_id)
        )
        self.data: dict[str, Any] = {}

    async def async_load(self) -> None:
        """Read what was saved (malformed data counts as nothing)."""
        stored = await self._store.async_load()
        self.data = dict(stored) if isinstance(stored, Mapping) else {}

    async def async_save(self) -> None:
        """Write now: an offset saved late could repeat an update after a crash."""
        await self._store.async_save(dict(self.data))

    def offsets(self) -> OffsetStore:
        """Return the offset as the protocol side's load/save pair."""

        async def load() -> int | None:
            return self.data.get("offset")

        async def save(offset: int) -> None:
            self.data["offset"] = offset
            await self.async_save()

        return OffsetStore(load, save)


class TelegramInbound:
    """The bot's one consumer of updates, and the events they become."""

    def __init__(
        self,
        hass: HomeAssistant,
        hub: BridgeHub,
        entry: ConfigEntry[Any],
        bot: TelegramBot,
        log: DeliveredLog,
    ) -> None:
        """Prepare the router for the entry's chats; `async_start` starts receiving."""
        self.hass = hass
        self.hub = hub
        self.entry = entry
        self.bot = bot
        self.mode = updates_mode(entry.options)
        self.store = UpdatesStore(hass, entry.unique_id or entry.entry_id)
        self.caller: BotCaller = paced_caller(bot)
        self.router = InboundRouter(
            bot.bot,
            _inbound_config(hass, entry),
            HubBridgeStatus(hass, hub, log, self._async_save_mute),
            self._on_event,
            caller=self.caller,
            seen=bot.seen_chats,
            tz=dt_util.get_default_time_zone(),
        )
        self.poller: UpdatePoller | None = None
        self.webhook: TelegramWebhook | None = None
        self.webhook_id: str | None = None

    async def async_start(self) -> None:
        """Start the entry's mode; an earlier mode's consumer is gone after this."""
        await self.store.async_load()
        self._restore_mutes()
        if self.mode is UpdatesMode.POLLING:
            # Deletes a webhook first (set by the webhook mode, or elsewhere).
            self.poller = UpdatePoller(
                self.bot.bot,
                self.router.async_handle_update,
                self.store.offsets(),
                on_state=self._on_poller_state,
            )
            self.poller.start()
        elif self.mode is UpdatesMode.WEBHOOK:
            await self._async_start_webhook()
        elif self.store.data.get("webhook_id"):
            # Receiving was switched off: the webhook this entry set goes too.
            await self._async_forget_webhook()
        # While receiving, the chat form offers the chats the receiver saw.
        self.bot.seen_chats.receiving = self.mode is not UpdatesMode.OFF
        if self.mode is not UpdatesMode.OFF:
            self.entry.async_create_background_task(
                self.hass, self._async_register_commands(), f"{DOMAIN} setMyCommands"
            )

    async def async_stop(self) -> None:
        """Stop receiving (an interrupted update comes again after the restart)."""
        self.bot.seen_chats.receiving = False
        if self.poller is not None:
            await self.poller.async_stop()
        if self.webhook_id is not None:
            webhook.async_unregister(self.hass, self.webhook_id)
            self.webhook_id = None

    @callback
    def _on_poller_state(self, state: PollerState, error: str | None) -> None:
        """Say when polling needs the user: another consumer, or a refused token."""
        if state is PollerState.CONFLICT:
            _LOGGER.warning(
                "Telegram bot %s: another program receives its updates (%s); stop it"
                " or choose off in the bot's options",
                self.entry.title,
                error,
            )
        elif state is PollerState.AUTH_FAILED:
            self.entry.async_start_reauth(self.hass)

    def _restore_mutes(self) -> None:
        """Mute again what /mute held before a restart (until its time passes).

        With receiving off nobody could /unmute: those mutes end now.
        """
        stored = self.store.data.get("muted")
        mutes = stored if isinstance(stored, dict) else {}
        now = dt_util.utcnow()
        for dest_id, value in list(mutes.items()):
            until = dt_util.parse_datetime(value) if isinstance(value, str) else None
            keep = (
                until is not None
                and until > now
                and dest_id in self.entry.subentries
                and self.mode is not UpdatesMode.OFF
            )
            self.hub.policy.set_muted_until(dest_id, until if keep else None)
            if not keep:
                del mutes[dest_id]

    async def _async_save_mute(self, dest_id: str, until: datetime | None) -> None:
        mutes = self.store.data.setdefault("muted", {})
        if until is None:
            mutes.pop(dest_id, None)
        else:
            mutes[dest_id] = until.isoformat()
        await self.store.async_save()

    async def _async_start_webhook(self) -> None:
        base = external_base_url(self.hass)
        if base is None:
            raise ConfigEntryError(
                translation_domain=DOMAIN,
                translation_key="telegram_no_external_url",
                translation_placeholders={"bot": self.entry.title},
            )
        data = self.store.data
        webhook_id = data.setdefault("webhook_id", secrets.token_hex(32))
        secret = data.setdefault("secret", new_secret_token())
        self.webhook = TelegramWebhook(
            self.bot.bot, secret, self.router.async_handle_update, self.store.offsets()
        )
        await self.webhook.async_load()
        await self.store.async_save()
        webhook.async_register(
            self.hass,
            DOMAIN,
            f"Telegram {self.entry.title}",
            webhook_id,
            self._async_handle_webhook,
            allowed_methods=["POST"],
        )
        self.webhook_id = webhook_id
        url = base + webhook.async_generate_path(webhook_id)
        try:
            await async_set_webhook(self.bot.bot, url, self.caller, secret=secret)
        except TelegramSendError as err:
            _LOGGER.warning(
                "Telegram setWebhook for %s failed: %s", self.entry.title, err
            )

    async def _async_handle_webhook(
        self, hass: HomeAssistant, webhook_id: str, request: web.Request
    ) -> web.Response:
        if self.webhook is None:  # unregistered before it is cleared
            return web.Response(status=404)
        result = await self.webhook.async_handle(request)
        return result.to_response()

    async def _async_forget_webhook(self) -> None:
        try:
            await async_use_polling(self.bot.bot, self.caller)
        except TelegramSendError as err:
            _LOGGER.warning("Telegram deleteWebhook failed: %s", err)
            return
        self.store.data.pop("webhook_id", None)
        self.store.data.pop("secret", None)
        await self.store.async_save()

    async def _async_register_commands(self) -> None:
        chats = [
            (
                normalize_chat_id(subentry.data[CONF_CHAT_ID]),
                subentry.data.get(CONF_LANGUAGE),
            )
            for subentry in self.entry.subentries.values()
        ]
        await async_register_commands(self.bot.bot, chats, self.caller)

    @callback
    def _on_event(self, event: InboundEvent) -> None:
        data = {
            **event.as_dict(),
            "config_entry_id": self.entry.entry_id,
            "entity_id": self._entity_id("event", event.destination_id),
            # Where an automation's answer goes (send with reply_to=message_id).
            "notify_entity_id": self._entity_id("notify", event.destination_id),
        }
        self.hass.bus.async_fire(BUS_EVENTS[event.kind], data)
        if event.destination_id is not None:
            async_dispatcher_send(
                self.hass,
                SIGNAL_DESTINATION_INBOUND.format(event.destination_id),
                event,
            )

    @callback
    def _entity_id(self, platform: str, destination_id: str | None) -> str | None:
        if destination_id is None:
            return None
        unique_id = (
            f"{destination_id}_{INBOUND_ENTITY_KEY}"
            if platform == "event"
            else destination_id
        )
        return er.async_get(self.hass).async_get_entity_id(platform, DOMAIN, unique_id)

    def diagnostics(self) -> dict[str, Any]:
        """Return what receiving did (no secrets, no message texts)."""
        return {
            "mode": self.mode.value,
            "poller": None if self.poller is None else self.poller.state.value,
            "router": asdict(self.router.stats),
            "webhook": None if self.webhook is None else asdict(self.webhook.stats),
        }


def paced_caller(bot: TelegramBot) -> BotCaller:
    """Replies, callback answers, edits share the delivery pacing and 429 handling."""

    async def call(chat_id: int | str | None, make: Any) -> Any:
        return await bot.async_call(chat_id, make, CallStats())

    return call  # type: ignore[return-value]


def _inbound_config(hass: HomeAssistant, entry: ConfigEntry[Any]) -> InboundConfig:
    destinations = tuple(
        ChatDestination(
            subentry.subentry_id,
            subentry.data[CONF_CHAT_ID],
            subentry.data.get(CONF_MESSAGE_THREAD_ID),
            subentry.data.get(CONF_LANGUAGE),
        )
        for subentry in entry.subentries.values()
    )
    return InboundConfig(
        bot_username=str(entry.data.get(CONF_USERNAME) or ""),
        destinations=destinations,
        allowed_user_ids=allowed_user_ids(entry.options),
        commands_per_window=commands_per_minute(entry.options),
        default_language=hass.config.language,
    )
