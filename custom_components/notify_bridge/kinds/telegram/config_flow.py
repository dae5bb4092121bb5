"""The Telegram bot's flows: the entry (token, reauth, reconfigure) and its chats."""

from __future__ import annotations

from collections.abc import Mapping
import logging
from typing import Any

from homeassistant.config_entries import (
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentry,
    ConfigSubentryFlow,
    SubentryFlowResult,
)
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
import voluptuous as vol

from ...const import CONF_KIND, EntryKind
from ...net import (
    CONNECT_REASONS,
    async_service_url_errors,
    url_without_credentials,
)
from ...targets.telegram.bot import OFFICIAL_API
from ...targets.telegram.sender import RecentChat, WebhookActiveError
from ...targets.telegram.setup import (
    CONF_ALLOWED_MEDIA_HOSTS,
    CONF_API_BASE_URL,
    CONF_BOT_ID,
    CONF_BOT_TOKEN,
    CONF_CHAT_ID,
    CONF_DISABLE_NOTIFICATION,
    CONF_MAX_UPLOAD_MB,
    CONF_MESSAGE_THREAD_ID,
    CONF_SEND_LARGE_VIDEOS_AS_DOCUMENTS,
    CONF_USERNAME,
    MAX_UPLOAD_MB,
    AuthFailedError,
    BotIdentity,
    CannotConnectError,
    async_identify,
    destination_unique_id,
    normalize_api_base_url,
    parse_allowed_media_hosts,
    parse_chat_id,
    parse_thread_id,
    redact,
    valid_token,
)
from ..shared.flows import (
    async_update_and_finish,
    clean_language,
    language_defaults,
    language_field,
    quiet_hours_fields,
    quiet_hours_form_values,
    validate_quiet_hours,
    visible_errors,
)
from .options import NEW_ENTRY_OPTIONS
from .setup import TelegramRuntime, make_bot

_LOGGER = logging.getLogger(__name__)


async def async_validate_token(
    hass: HomeAssistant,
    data: Mapping[str, Any],
    placeholders: dict[str, str] | None = None,
) -> tuple[BotIdentity | None, dict[str, str]]:
    """Check a token with getMe before anything is stored; return form errors.

    A connection failure fills `placeholders` with the server and why, which the
    form's error names.
    """
    if not valid_token(data[CONF_BOT_TOKEN]):
        return None, {CONF_BOT_TOKEN: "invalid_token_format"}
    bot = make_bot(hass, data, for_flow=True)
    try:
        return await async_identify(bot), {}
    except AuthFailedError:
        return None, {"base": "telegram_invalid_auth"}
    except CannotConnectError as err:
        _LOGGER.debug("Bot API server not reachable: %s", err)
        if placeholders is not None:
            placeholders.update(connect_placeholders(data, err.reason))
        return None, {"base": "telegram_cannot_connect"}
    except Exception:
        _LOGGER.exception("Unexpected error checking the Telegram bot token")
        return None, {"base": "unknown"}
    finally:
        await bot.async_close()


def connect_placeholders(data: Mapping[str, Any], reason: str) -> dict[str, str]:
    """Return which server could not be reached and why, for the form's error."""
    server = url_without_credentials(data.get(CONF_API_BASE_URL) or OFFICIAL_API)
    return {"server": server, "reason": CONNECT_REASONS.get(reason, reason)}


def _token_field(*, required: bool = True) -> dict[vol.Marker, Any]:
    marker = vol.Required if required else vol.Optional
    return {
        marker(CONF_BOT_TOKEN): TextSelector(
            TextSelectorConfig(type=TextSelectorType.PASSWORD)
        )
    }


def _entry_schema(*, token_required: bool = True) -> vol.Schema:
    return vol.Schema(
        {
            **_token_field(required=token_required),
            vol.Optional(CONF_API_BASE_URL): TextSelector(
                TextSelectorConfig(type=TextSelectorType.URL)
            ),
            vol.Optional(CONF_MAX_UPLOAD_MB): NumberSelector(
                NumberSelectorConfig(
                    min=1,
                    max=MAX_UPLOAD_MB,
                    step=1,
                    mode=NumberSelectorMode.BOX,
                    unit_of_measurement="MB",
                )
            ),
            vol.Optional(CONF_ALLOWED_MEDIA_HOSTS): TextSelector(),
        }
    )


class TelegramEntryFlow(ConfigFlow):
    """Config flow steps of the Telegram target: one entry per bot."""

    @property
    def _telegram_connect_failure(self) -> dict[str, str]:
        """Server and reason of the last connection failure, for the form's error
        (the mixin has no __init__ of its own: made on first use)."""
        state: dict[str, str] = self.__dict__.setdefault(
            "_telegram_connect_failure_state", {"server": OFFICIAL_API, "reason": ""}
        )
        return state

    def _placeholders(self, **extra: str) -> dict[str, str]:
        return {**self._telegram_connect_failure, **extra}

    async def _async_check_entry_input(
        self, user_input: dict[str, Any]
    ) -> tuple[dict[str, Any] | None, BotIdentity | None, dict[str, str]]:
        """Validate the form; return the entry data and who the token belongs to."""
        api_base_url = normalize_api_base_url(user_input.get(CONF_API_BASE_URL))
        if api_base_url is None:
            return None, None, {CONF_API_BASE_URL: "invalid_url"}
        if api_base_url and (
            errors := await async_service_url_errors(CONF_API_BASE_URL, api_base_url)
        ):
            return None, None, errors
        try:
            media_hosts = parse_allowed_media_hosts(
                user_input.get(CONF_ALLOWED_MEDIA_HOSTS)
            )
        except ValueError:
            return None, None, {CONF_ALLOWED_MEDIA_HOSTS: "invalid_media_hosts"}
        data: dict[str, Any] = {
            CONF_BOT_TOKEN: str(user_input[CONF_BOT_TOKEN]).strip(),
        }
        if media_hosts:
            data[CONF_ALLOWED_MEDIA_HOSTS] = ", ".join(media_hosts)
        if api_base_url:
            data[CONF_API_BASE_URL] = api_base_url
            if upload_mb := user_input.get(CONF_MAX_UPLOAD_MB):
                data[CONF_MAX_UPLOAD_MB] = int(upload_mb)
        identity, errors = await async_validate_token(
            self.hass, data, self._telegram_connect_failure
        )
        if identity is None:
            return None, None, errors
        data[CONF_BOT_ID] = identity.bot_id
        data[CONF_USERNAME] = identity.username
        return data, identity, {}

    async def async_step_telegram(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Add a bot: the token is checked with getMe before the entry exists."""
        errors: dict[str, str] = {}
        if user_input is not None:
            data, identity, errors = await self._async_check_entry_input(user_input)
            if data is not None and identity is not None:
                await self.async_set_unique_id(str(identity.bot_id))
                self._abort_if_unique_id_configured(error="telegram_already_configured")
                return self.async_create_entry(
                    title=identity.title,
                    data={CONF_KIND: EntryKind.TELEGRAM.value, **data},
                    options=dict(NEW_ENTRY_OPTIONS),
                )
        return self.async_show_form(
            step_id="telegram",
            # What the user typed stays after an error, the token too: it came
            # from this browser, and retyping it is what made people give up.
            data_schema=self.add_suggested_values_to_schema(
                _entry_schema(), user_input or {}
            ),
            errors=errors,
            description_placeholders=self._placeholders(),
        )

    async def telegram_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Check the new token; it must belong to the same bot."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            token = str(user_input[CONF_BOT_TOKEN]).strip()
            identity, errors = await async_validate_token(
                self.hass,
                {**entry.data, CONF_BOT_TOKEN: token},
                self._telegram_connect_failure,
            )
            if identity is not None:
                await self.async_set_unique_id(str(identity.bot_id))
                self._abort_if_unique_id_mismatch(reason="telegram_wrong_bot")
                return async_update_and_finish(
                    self,
                    entry,
                    data_updates={
                        CONF_BOT_TOKEN: token,
                        CONF_USERNAME: identity.username,
                    },
                )
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=vol.Schema(_token_field()),
            description_placeholders=self._placeholders(bot=entry.title),
            errors=errors,
        )

    async def telegram_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the token or the Bot API server; the bot must stay the same."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            # An empty token field keeps the current token.
            token = user_input.get(CONF_BOT_TOKEN) or entry.data[CONF_BOT_TOKEN]
            data, identity, errors = await self._async_check_entry_input(
                {**user_input, CONF_BOT_TOKEN: token}
            )
            if data is not None and identity is not None:
                await self.async_set_unique_id(str(identity.bot_id))
                self._abort_if_unique_id_mismatch(reason="telegram_wrong_bot")
                return async_update_and_finish(
                    self,
                    entry,
                    title=identity.title,
                    data={CONF_KIND: EntryKind.TELEGRAM.value, **data},
                    options=dict(NEW_ENTRY_OPTIONS),
                )
        # The stored token is never sent back to the browser; a newly typed one
        # stays after an error.
        current = user_input or _without_token(entry.data)
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                _entry_schema(token_required=False), current
            ),
            description_placeholders=self._placeholders(bot=entry.title),
            errors=errors,
        )


def _without_token(values: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return form values to suggest again; a token is never sent back to the UI."""
    return {k: v for k, v in (values or {}).items() if k != CONF_BOT_TOKEN}


# --- destinations ---------------------------------------------------------------------


class TelegramChatFlow(ConfigSubentryFlow):
    """One chat or forum topic; suggests the chats the bot has seen recently."""

    def __init__(self) -> None:
        """Chats are fetched once per flow, when the form is first shown."""
        super().__init__()
        self._chats: list[RecentChat] | None = None
        self._webhook_active = False

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Add a chat: pick it (and a topic) and how to deliver there."""
        return await self._async_form(user_input, None)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Edit the chat, topic and delivery options."""
        return await self._async_form(user_input, self._get_reconfigure_subentry())

    async def _async_form(
        self, user_input: dict[str, Any] | None, subentry: ConfigSubentry | None
    ) -> SubentryFlowResult:
        errors: dict[str, str] = {}
        if user_input is not None:
            data, errors = self._validate(dict(user_input))
            if not errors:
                unique_id = destination_unique_id(
                    data[CONF_CHAT_ID], data.get(CONF_MESSAGE_THREAD_ID)
                )
                own_id = None if subentry is None else subentry.subentry_id
                if self._unique_id_taken(unique_id, own_id):
                    return self.async_abort(reason="already_configured")
                title = data.pop(CONF_NAME)
                if subentry is None:
                    return self.async_create_entry(
                        title=title, data=data, unique_id=unique_id
                    )
                return self.async_update_and_abort(
                    self._get_entry(),
                    subentry,
                    title=title,
                    data=data,
                    unique_id=unique_id,
                )
        await self._async_load_chats()
        step_id = "user" if subentry is None else "reconfigure"
        if self._webhook_active and not errors:
            # Said on the form: a webhook hides the chats the bot has seen.
            errors = {"base": "webhook_hides_chats"}
        if user_input is not None:
            defaults: Mapping[str, Any] = user_input
        elif subentry is not None:
            defaults = quiet_hours_form_values(
                language_defaults({CONF_NAME: subentry.title, **subentry.data})
            )
        else:
            defaults = {}
        schema = self._schema()
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(schema, defaults),
            errors=visible_errors(schema, errors),
        )

    def _schema(self) -> vol.Schema:
        options = [
            SelectOptionDict(value=chat_choice(chat), label=_chat_label(chat))
            for chat in self._chats or ()
        ]
        return vol.Schema(
            {
                # Optional for the form only: a required dropdown opens with its
                # first suggestion chosen, and one Enter would add a chat nobody
                # picked. `_validate` still requires a chat.
                vol.Optional(CONF_CHAT_ID): SelectSelector(
                    SelectSelectorConfig(
                        options=options,
                        custom_value=True,
                        mode=SelectSelectorMode.DROPDOWN,
                    )
                ),
                # No `min`: the selector's own check says "Value 0.0 is too
                # small"; `parse_thread_id` gives the field its own message.
                vol.Optional(CONF_MESSAGE_THREAD_ID): NumberSelector(
                    NumberSelectorConfig(step=1, mode=NumberSelectorMode.BOX)
                ),
                vol.Optional(CONF_NAME): TextSelector(),
                vol.Optional(
                    CONF_DISABLE_NOTIFICATION, default=False
                ): BooleanSelector(),
                vol.Optional(
                    CONF_SEND_LARGE_VIDEOS_AS_DOCUMENTS, default=False
                ): BooleanSelector(),
                **language_field(),
                **quiet_hours_fields(),
            }
        )

    def _validate(
        self, user_input: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """Return the subentry data (name included) and the form errors."""
        errors = validate_quiet_hours(user_input)
        chosen, topic = split_chat_choice(user_input.get(CONF_CHAT_ID))
        chat_id = parse_chat_id(chosen)
        if chat_id is None:
            errors[CONF_CHAT_ID] = "no_chat" if not chosen else "invalid_chat_id"
        try:
            # A topic suggestion names its topic: picking it posts there.
            thread_id = topic or parse_thread_id(user_input.get(CONF_MESSAGE_THREAD_ID))
        except TypeError, ValueError:
            thread_id = None
            errors[CONF_MESSAGE_THREAD_ID] = "invalid_thread_id"
        if errors or chat_id is None:
            return {}, errors
        data: dict[str, Any] = {
            **user_input,
            CONF_CHAT_ID: str(chat_id),
            CONF_DISABLE_NOTIFICATION: bool(
                user_input.get(CONF_DISABLE_NOTIFICATION, False)
            ),
            CONF_SEND_LARGE_VIDEOS_AS_DOCUMENTS: bool(
                user_input.get(CONF_SEND_LARGE_VIDEOS_AS_DOCUMENTS, False)
            ),
        }
        data.pop(CONF_MESSAGE_THREAD_ID, None)
        if thread_id is not None:
            data[CONF_MESSAGE_THREAD_ID] = thread_id
        clean_language(data)
        name = str(user_input.get(CONF_NAME) or "").strip()
        data[CONF_NAME] = name or self._default_name(chat_id, thread_id)
        return data, {}

    def _default_name(self, chat_id: int | str, thread_id: int | None) -> str:
        """Name a destination after its chat (as the bot saw it) and topic."""
        name = next(
            (chat.title for chat in self._chats or () if chat.chat_id == chat_id),
            str(chat_id),
        )
        return name if thread_id is None else f"{name} #{thread_id}"

    def _unique_id_taken(self, unique_id: str, own_id: str | None) -> bool:
        return any(
            sub.unique_id == unique_id and sub.subentry_id != own_id
            for sub in self._get_entry().subentries.values()
        )

    async def _async_load_chats(self) -> None:
        """Fetch the chats from pending updates once; a webhook is remembered."""
        if self._chats is not None:
            return
        self._chats = []
        entry = self._get_entry()
        loaded = entry.state is ConfigEntryState.LOADED
        runtime: TelegramRuntime | None = entry.runtime_data if loaded else None
        bot = (
            runtime.bot
            if runtime is not None
            else make_bot(self.hass, entry.data, for_flow=True)
        )
        try:
            self._chats = await bot.async_recent_chats()
        except WebhookActiveError:
            self._webhook_active = True
        except Exception as err:  # noqa: BLE001 - suggestions are optional
            _LOGGER.debug(
                "Could not list recent chats: %s", redact(str(err), bot.bot.token)
            )
        finally:
            if not loaded:
                await bot.async_close()


# Between a chat id and a topic id in the value of a topic suggestion: neither a
# chat id nor an @username can hold it.
TOPIC_SEPARATOR = "/"


def chat_choice(chat: RecentChat) -> str:
    """Return the chat field value of a suggestion; a topic's carries its topic."""
    if chat.message_thread_id is None:
        return str(chat.chat_id)
    return f"{chat.chat_id}{TOPIC_SEPARATOR}{chat.message_thread_id}"


def split_chat_choice(value: Any) -> tuple[str, int | None]:
    """Return (chat as typed or chosen, topic id of a topic suggestion or None)."""
    text = str(value if value is not None else "").strip()
    chat, separator, topic = text.rpartition(TOPIC_SEPARATOR)
    if separator and chat and topic.isdecimal() and int(topic) >= 1:
        return chat.strip(), int(topic)
    return text, None


def _chat_label(chat: RecentChat) -> str:
    where = f"{chat.type}, {chat.chat_id}"
    if chat.message_thread_id is not None:
        where += f", topic {chat.message_thread_id}"
    return f"{chat.title} ({where})"
