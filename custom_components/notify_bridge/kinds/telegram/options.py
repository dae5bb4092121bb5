"""The Telegram bot's options: receiving updates, who may talk, how fast.

Kept apart from config_flow.py (token and chats). Saving the options reloads the
entry, and the reload makes the new mode the only consumer of the bot's updates:
polling deletes the webhook when it starts, a webhook makes getUpdates fail, and
"off" deletes a webhook this entry had set.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Final

from homeassistant.config_entries import ConfigFlowResult, OptionsFlow
from homeassistant.core import HomeAssistant
from homeassistant.helpers.network import NoURLAvailableError, get_url
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
)
import voluptuous as vol

from ...targets.telegram.inbound import DEFAULT_COMMANDS_PER_MINUTE

CONF_UPDATES: Final = "receive_updates"
CONF_ALLOWED_USER_IDS: Final = "allowed_user_ids"
CONF_COMMANDS_PER_MINUTE: Final = "commands_per_minute"
MAX_COMMANDS_PER_MINUTE: Final = 120


class UpdatesMode(StrEnum):
    """How the bot receives updates (commands, messages, button presses)."""

    OFF = "off"
    POLLING = "polling"
    WEBHOOK = "webhook"


# A new bot receives by long polling (works behind NAT). An entry made before this
# option existed stays off until the user picks a mode: its bot may have another
# consumer of updates, which polling would fight with (409).
NEW_ENTRY_OPTIONS: Final = {CONF_UPDATES: UpdatesMode.POLLING.value}


def updates_mode(options: Mapping[str, Any]) -> UpdatesMode:
    """Return the entry's mode (off when none was ever chosen)."""
    try:
        return UpdatesMode(options.get(CONF_UPDATES, UpdatesMode.OFF))
    except ValueError:
        return UpdatesMode.OFF


def allowed_user_ids(options: Mapping[str, Any]) -> frozenset[int]:
    """Return the listed user ids (stored as a list of ints)."""
    return frozenset(
        int(value)
        for value in options.get(CONF_ALLOWED_USER_IDS) or ()
        if isinstance(value, int) or str(value).lstrip("-").isdigit()
    )


def commands_per_minute(options: Mapping[str, Any]) -> int:
    """Return the per-chat command limit."""
    return int(options.get(CONF_COMMANDS_PER_MINUTE, DEFAULT_COMMANDS_PER_MINUTE))


def parse_user_ids(value: str | None) -> list[int] | None:
    """Return user ids from "1, 2 3" (None when one is not a number)."""
    parts = (value or "").replace(",", " ").split()
    if not all(part.lstrip("-").isdigit() for part in parts):
        return None
    return sorted({int(part) for part in parts})


def external_base_url(hass: HomeAssistant) -> str | None:
    """Return the external HTTPS URL Telegram can reach (None when there is none)."""
    try:
        url = get_url(
            hass, prefer_external=True, allow_internal=False, require_ssl=True
        )
    except NoURLAvailableError:
        return None
    return url if url.lower().startswith("https://") else None


class TelegramOptionsFlow(OptionsFlow):
    """Edit how the bot receives updates and who may use its commands."""

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show the options; a webhook needs an external HTTPS URL."""
        errors: dict[str, str] = {}
        options: Mapping[str, Any] = self.config_entry.options
        if user_input is not None:
            users = parse_user_ids(user_input.get(CONF_ALLOWED_USER_IDS))
            mode = UpdatesMode(user_input[CONF_UPDATES])
            if users is None:
                errors[CONF_ALLOWED_USER_IDS] = "telegram_invalid_user_ids"
            elif mode is UpdatesMode.WEBHOOK and external_base_url(self.hass) is None:
                errors[CONF_UPDATES] = "telegram_no_external_url"
            else:
                return self.async_create_entry(
                    data={
                        **options,
                        CONF_UPDATES: mode.value,
                        CONF_ALLOWED_USER_IDS: users,
                        CONF_COMMANDS_PER_MINUTE: int(
                            user_input[CONF_COMMANDS_PER_MINUTE]
                        ),
                    }
                )
            options = {**options, **user_input}
        return self.async_show_form(
            step_id="init", data_schema=_schema(options), errors=errors
        )


def _schema(options: Mapping[str, Any]) -> vol.Schema:
    users = options.get(CONF_ALLOWED_USER_IDS) or []
    if not isinstance(users, str):
        users = ", ".join(str(user) for user in users)
    return vol.Schema(
        {
            vol.Required(
                CONF_UPDATES, default=updates_mode(options).value
            ): SelectSelector(
                SelectSelectorConfig(
                    options=[mode.value for mode in UpdatesMode],
                    mode=SelectSelectorMode.LIST,
                    translation_key="telegram_updates",
                )
            ),
            vol.Optional(
                CONF_ALLOWED_USER_IDS, description={"suggested_value": users}
            ): TextSelector(),
            vol.Required(
                CONF_COMMANDS_PER_MINUTE, default=commands_per_minute(options)
            ): NumberSelector(
                NumberSelectorConfig(
                    min=1,
                    max=MAX_COMMANDS_PER_MINUTE,
                    step=1,
                    mode=NumberSelectorMode.BOX,
                )
            ),
        }
    )
