"""The telegram target: entry flow (token, reauth, reconfigure), destinations, setup."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
import logging
from typing import Any

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentry,
    ConfigSubentryFlow,
    SubentryFlowResult,
)
from homeassistant.const import CONF_NAME, Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import (
    ConfigEntryAuthFailed,
    ConfigEntryNotReady,
    HomeAssistantError,
)
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.httpx_client import get_async_client
from homeassistant.helpers.selector import (
    BooleanSelector,
    LanguageSelector,
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
from homeassistant.helpers.storage import Store
from telegram.error import InvalidToken, TelegramError
import voluptuous as vol

from ..const import CONF_KIND, DOMAIN, SUBENTRY_DESTINATION, EntryKind
from ..flows import async_update_and_finish, quiet_hours_fields, validate_quiet_hours
from ..hub import (
    DestinationRuntime,
    NotifyBridgeConfigEntry,
    NotifyBridgeHub,
    TargetRuntime,
)
from ..net import async_service_url_errors
from ..pipeline.models import OutputFormat
from ..targets.telegram import (
    TELEGRAM_RATE_LIMITS,
    FileIdCache,
    RateLimits,
    RetryPolicy,
    TelegramBot,
    TelegramDestination,
)
from ..targets.telegram.sender import RecentChat, WebhookActiveError
from ..targets.telegram.setup import (
    CONF_ALLOWED_MEDIA_HOSTS,
    CONF_API_BASE_URL,
    CONF_BOT_ID,
    CONF_BOT_TOKEN,
    CONF_CHAT_ID,
    CONF_DISABLE_NOTIFICATION,
    CONF_LANGUAGE,
    CONF_MAX_UPLOAD_MB,
    CONF_MESSAGE_THREAD_ID,
    CONF_SEND_LARGE_VIDEOS_AS_DOCUMENTS,
    CONF_USERNAME,
    MAX_UPLOAD_MB,
    AuthFailedError,
    BotIdentity,
    CannotConnectError,
    ReauthingTelegramBot,
    async_identify,
    destination_unique_id,
    limits_from_options,
    normalize_api_base_url,
    parse_allowed_media_hosts,
    parse_chat_id,
    parse_thread_id,
    redact,
    url_policy_from_options,
    valid_token,
)
from . import Kind

_LOGGER = logging.getLogger(__name__)

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


async def async_validate_token(
    hass: HomeAssistant, data: Mapping[str, Any]
) -> tuple[BotIdentity | None, dict[str, str]]:
    """Check a token with getMe before anything is stored; return form errors."""
    if not valid_token(data[CONF_BOT_TOKEN]):
        return None, {CONF_BOT_TOKEN: "invalid_token_format"}
    bot = make_bot(hass, data, for_flow=True)
    try:
        return await async_identify(bot), {}
    except AuthFailedError:
        return None, {"base": "invalid_auth"}
    except CannotConnectError as err:
        _LOGGER.debug("Bot API server not reachable: %s", err)
        return None, {"base": "cannot_connect"}
    except Exception:
        _LOGGER.exception("Unexpected error checking the Telegram bot token")
        return None, {"base": "unknown"}
    finally:
        await bot.async_close()


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
        identity, errors = await async_validate_token(self.hass, data)
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
                self._abort_if_unique_id_configured()
                return self.async_create_entry(
                    title=identity.title,
                    data={CONF_KIND: EntryKind.TELEGRAM.value, **data},
                )
        return self.async_show_form(
            step_id="telegram",
            data_schema=self.add_suggested_values_to_schema(
                _entry_schema(), _without_token(user_input)
            ),
            errors=errors,
        )

    async def async_step_reauth_telegram(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Telegram refused the token: ask for the bot's new one."""
        return await self.async_step_reauth_telegram_confirm()

    async def async_step_reauth_telegram_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Check the new token; it must belong to the same bot."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            token = str(user_input[CONF_BOT_TOKEN]).strip()
            identity, errors = await async_validate_token(
                self.hass, {**entry.data, CONF_BOT_TOKEN: token}
            )
            if identity is not None:
                await self.async_set_unique_id(str(identity.bot_id))
                self._abort_if_unique_id_mismatch(reason="wrong_bot")
                return async_update_and_finish(
                    self,
                    entry,
                    data_updates={
                        CONF_BOT_TOKEN: token,
                        CONF_USERNAME: identity.username,
                    },
                )
        return self.async_show_form(
            step_id="reauth_telegram_confirm",
            data_schema=vol.Schema(_token_field()),
            description_placeholders={"bot": entry.title},
            errors=errors,
        )

    async def async_step_reconfigure_telegram(
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
                self._abort_if_unique_id_mismatch(reason="wrong_bot")
                return async_update_and_finish(
                    self,
                    entry,
                    title=identity.title,
                    data={CONF_KIND: EntryKind.TELEGRAM.value, **data},
                )
        current = user_input or dict(entry.data)
        return self.async_show_form(
            step_id="reconfigure_telegram",
            data_schema=self.add_suggested_values_to_schema(
                _entry_schema(token_required=False), _without_token(current)
            ),
            description_placeholders={"bot": entry.title},
            errors=errors,
        )


def _without_token(values: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return form values to suggest again; a token is never sent back to the UI."""
    return {k: v for k, v in (values or {}).items() if k != CONF_BOT_TOKEN}


# --- destinations ---------------------------------------------------------------------


class TelegramDestinationFlow(ConfigSubentryFlow):
    """One chat or forum topic; suggests the chats the bot has seen recently."""

    def __init__(self) -> None:
        """Chats are fetched once per flow, when the form is first shown."""
        super().__init__()
        self._chats: list[RecentChat] | None = None
        self._webhook_active = False

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Add a destination."""
        return await self.async_step_telegram(user_input)

    async def async_step_telegram(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Pick the chat (and topic) and how to deliver there."""
        return await self._async_form(user_input, None)

    async def async_step_telegram_webhook(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """The same form, telling that a webhook hides the recent chats."""
        return await self._async_form(user_input, None)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Edit a destination."""
        return await self.async_step_telegram_reconfigure(user_input)

    async def async_step_telegram_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Edit the chat, topic and delivery options."""
        return await self._async_form(user_input, self._get_reconfigure_subentry())

    async def async_step_telegram_reconfigure_webhook(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """The edit form, telling that a webhook hides the recent chats."""
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
        step_id = "telegram" if subentry is None else "telegram_reconfigure"
        if self._webhook_active:
            step_id += "_webhook"
        if user_input is not None:
            defaults: Mapping[str, Any] = user_input
        elif subentry is not None:
            defaults = {CONF_NAME: subentry.title, **subentry.data}
        else:
            defaults = {}
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(self._schema(), defaults),
            errors=errors,
        )

    def _schema(self) -> vol.Schema:
        options = [
            SelectOptionDict(value=str(chat.chat_id), label=_chat_label(chat))
            for chat in self._chats or ()
        ]
        return vol.Schema(
            {
                vol.Required(CONF_CHAT_ID): SelectSelector(
                    SelectSelectorConfig(
                        options=options,
                        custom_value=True,
                        mode=SelectSelectorMode.DROPDOWN,
                    )
                ),
                vol.Optional(CONF_MESSAGE_THREAD_ID): NumberSelector(
                    NumberSelectorConfig(min=1, step=1, mode=NumberSelectorMode.BOX)
                ),
                vol.Optional(CONF_NAME): TextSelector(),
                vol.Optional(
                    CONF_DISABLE_NOTIFICATION, default=False
                ): BooleanSelector(),
                vol.Optional(
                    CONF_SEND_LARGE_VIDEOS_AS_DOCUMENTS, default=False
                ): BooleanSelector(),
                vol.Optional(CONF_LANGUAGE): LanguageSelector(),
                **quiet_hours_fields(),
            }
        )

    def _validate(
        self, user_input: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """Return the subentry data (name included) and the form errors."""
        errors = validate_quiet_hours(user_input)
        chat_id = parse_chat_id(user_input.get(CONF_CHAT_ID))
        if chat_id is None:
            errors[CONF_CHAT_ID] = "invalid_chat_id"
        try:
            thread_id = parse_thread_id(user_input.get(CONF_MESSAGE_THREAD_ID))
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
        if not data.get(CONF_LANGUAGE):
            data.pop(CONF_LANGUAGE, None)
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
        runtime = getattr(entry, "runtime_data", None)
        loaded = entry.state is ConfigEntryState.LOADED and isinstance(
            runtime, TelegramRuntime
        )
        bot = runtime.bot if loaded else make_bot(self.hass, entry.data, for_flow=True)
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


def _chat_label(chat: RecentChat) -> str:
    where = f"{chat.type}, {chat.chat_id}"
    if chat.message_thread_id is not None:
        where += f", topic {chat.message_thread_id}"
    return f"{chat.title} ({where})"


# --- setup ----------------------------------------------------------------------------


@dataclass(slots=True)
class TelegramRuntime(TargetRuntime):
    """Runtime data of a telegram entry: its destinations and the one bot."""

    bot: TelegramBot | None = None


async def async_setup_telegram(
    hass: HomeAssistant, hub: NotifyBridgeHub, entry: NotifyBridgeConfigEntry
) -> TelegramRuntime:
    """Start the entry's bot (checking the token) and register its destinations."""
    bot_id = entry.unique_id or entry.data[CONF_BOT_ID]
    store: Store[dict[str, Any]] = Store(
        hass, FILE_CACHE_STORE_VERSION, file_cache_store_key(bot_id)
    )
    cache = FileIdCache.from_dict(await store.async_load())

    @callback
    def start_reauth() -> None:
        entry.async_start_reauth(hass)

    bot = make_bot(hass, entry.data, file_cache=cache, on_auth_failed=start_reauth)
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
    for subentry in entry.subentries.values():
        if subentry.subentry_type != SUBENTRY_DESTINATION:
            continue
        destination = DestinationRuntime(
            destination=TelegramDestination(
                bot,
                destination_id=subentry.subentry_id,
                name=subentry.title,
                chat_id=subentry.data[CONF_CHAT_ID],
                message_thread_id=subentry.data.get(CONF_MESSAGE_THREAD_ID),
                disable_notification=subentry.data.get(
                    CONF_DISABLE_NOTIFICATION, False
                ),
                send_large_videos_as_documents=subentry.data.get(
                    CONF_SEND_LARGE_VIDEOS_AS_DOCUMENTS, False
                ),
                on_chat_migrated=partial(_store_migrated_chat, hass, entry),
            ),
            entry_id=entry.entry_id,
        )
        runtime.destinations[subentry.subentry_id] = destination
        entry.async_on_unload(hub.register_destination(destination, subentry.data))
    return runtime


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


KIND = Kind(
    kind=EntryKind.TELEGRAM,
    platforms=(Platform.BUTTON, Platform.NOTIFY, Platform.SENSOR),
    setup=async_setup_telegram,
    entry_flow=TelegramEntryFlow,
    subentry_flows={SUBENTRY_DESTINATION: TelegramDestinationFlow},
    store_keys=lambda entry: [
        file_cache_store_key(entry.unique_id or entry.data[CONF_BOT_ID])
    ],
    output_format=lambda _options: OutputFormat.HTML,
)
