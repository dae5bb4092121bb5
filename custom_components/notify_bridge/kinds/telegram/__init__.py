"""The Telegram target: one entry per bot, one "chat" subentry per chat or topic."""

from __future__ import annotations

from homeassistant.const import Platform

from ...const import SUBENTRY_TELEGRAM_CHAT, EntryKind
from ...pipeline.models import OutputFormat
from ...runtime import EntrySteps, Kind
from ...targets.telegram.advice import failure_advice
from ...targets.telegram.setup import CONF_BOT_ID
from ..shared.entities import target_entities
from .config_flow import TelegramChatFlow, TelegramEntryFlow
from .entities import bot_entities
from .setup import async_setup_telegram, file_cache_store_key

KIND = Kind(
    kind=EntryKind.TELEGRAM,
    manufacturer="Telegram",
    setup=async_setup_telegram,
    entry_steps=EntrySteps(
        create=TelegramEntryFlow.async_step_telegram,
        reconfigure=TelegramEntryFlow.telegram_reconfigure,
        reauth_confirm=TelegramEntryFlow.telegram_reauth_confirm,
        flow=TelegramEntryFlow,
    ),
    subentry_type=SUBENTRY_TELEGRAM_CHAT,
    subentry_flow=TelegramChatFlow,
    entities={**target_entities("Chat"), Platform.BINARY_SENSOR: bot_entities},
    store_keys=lambda entry: [
        file_cache_store_key(entry.unique_id or entry.data[CONF_BOT_ID])
    ],
    output_format=lambda _options: OutputFormat.HTML,
    failure_advice=failure_advice,
)
