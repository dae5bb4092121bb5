"""The Telegram target: one entry per bot, one "chat" subentry per chat or topic."""

from __future__ import annotations

from ...const import SUBENTRY_TELEGRAM_CHAT, EntryKind
from ...pipeline.models import OutputFormat
from ...runtime import EntrySteps, Kind
from ...targets.telegram.advice import failure_advice
from ...targets.telegram.setup import CONF_BOT_ID
from .actions import async_message_action
from .config_flow import TelegramChatFlow, TelegramEntryFlow
from .entities import telegram_entities
from .inbound import updates_store_key
from .options import TelegramOptionsFlow
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
    entities=telegram_entities(),
    store_keys=lambda entry: [
        file_cache_store_key(entry.unique_id or entry.data[CONF_BOT_ID]),
        updates_store_key(entry.unique_id or entry.entry_id),
    ],
    output_format=lambda _options: OutputFormat.HTML,
    diagnostics=lambda entry: {
        "inbound": entry.runtime_data.inbound.diagnostics()
        if entry.runtime_data.inbound
        else None
    },
    options_flow=TelegramOptionsFlow,
    message_action=async_message_action,
    failure_advice=failure_advice,
)
