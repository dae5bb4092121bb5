"""The e-mail target's flows: the SMTP account (checked before it exists, reauth,
reconfigure) and its recipient lists."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
import logging
import re
from typing import Any

from homeassistant.config_entries import ConfigFlow, ConfigFlowResult
from homeassistant.const import (
    CONF_HOST,
    CONF_NAME,
    CONF_PASSWORD,
    CONF_PORT,
    CONF_SENDER,
    CONF_USERNAME,
    CONF_VERIFY_SSL,
)
from homeassistant.helpers.selector import (
    BooleanSelector,
    LanguageSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
import voluptuous as vol

from ...const import CONF_KIND, EntryKind
from ...targets.email import (
    DEFAULT_PORTS,
    EmailSettings,
    Security,
    ValidationFailure,
    async_validate,
)
from ...targets.email.mime import Recipients
from ...targets.telegram.setup import (
    CONF_ALLOWED_MEDIA_HOSTS,
    parse_allowed_media_hosts,
)
from ..shared.flows import (
    SubentryFormFlow,
    async_update_and_finish,
    quiet_hours_fields,
    validate_quiet_hours,
)
from . import fields
from .fields import (
    CONF_LANGUAGE,
    CONF_MEDIA_BUDGET_MB,
    CONF_SECURITY,
    CONF_SENDER_NAME,
    CONF_SUBJECT,
    CONF_TO,
    DEFAULT_MEDIA_BUDGET_MB,
    MAX_MEDIA_BUDGET_MB,
    RECIPIENT_FIELDS,
    entry_unique_id,
    recipients_from_data,
    recipients_unique_id,
    settings_from_data,
    short_detail,
    split_addresses,
)

_LOGGER = logging.getLogger(__name__)
# A host name or an address literal; nothing a URL or a path could hide in.
_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.:-]+)$")
# Form fields that are stored only when given.
_OPTIONAL = (CONF_USERNAME, CONF_PASSWORD, CONF_SENDER_NAME, CONF_ALLOWED_MEDIA_HOSTS)


@dataclass(slots=True)
class Checked:
    """The outcome of checking the account form."""

    data: dict[str, Any] | None = None
    settings: EmailSettings | None = None
    errors: dict[str, str] = field(default_factory=dict)
    placeholders: dict[str, str] = field(default_factory=dict)


def _entry_schema() -> vol.Schema:
    return vol.Schema(
        {
            vol.Required(CONF_HOST): TextSelector(),
            vol.Optional(CONF_PORT): NumberSelector(
                NumberSelectorConfig(
                    min=1, max=65535, step=1, mode=NumberSelectorMode.BOX
                )
            ),
            vol.Required(
                CONF_SECURITY, default=Security.STARTTLS.value
            ): SelectSelector(
                SelectSelectorConfig(
                    options=[security.value for security in Security],
                    translation_key="email_security",
                    mode=SelectSelectorMode.LIST,
                )
            ),
            vol.Optional(CONF_USERNAME): TextSelector(
                TextSelectorConfig(autocomplete="username")
            ),
            vol.Optional(CONF_PASSWORD): TextSelector(
                TextSelectorConfig(
                    type=TextSelectorType.PASSWORD, autocomplete="current-password"
                )
            ),
            vol.Required(CONF_SENDER): TextSelector(
                TextSelectorConfig(type=TextSelectorType.EMAIL)
            ),
            vol.Optional(CONF_SENDER_NAME): TextSelector(),
            vol.Optional(CONF_VERIFY_SSL, default=True): BooleanSelector(),
            vol.Optional(CONF_ALLOWED_MEDIA_HOSTS): TextSelector(),
            vol.Optional(
                CONF_MEDIA_BUDGET_MB, default=DEFAULT_MEDIA_BUDGET_MB
            ): NumberSelector(
                NumberSelectorConfig(
                    min=1,
                    max=MAX_MEDIA_BUDGET_MB,
                    step=1,
                    mode=NumberSelectorMode.BOX,
                    unit_of_measurement="MB",
                )
            ),
        }
    )


def _password_schema() -> vol.Schema:
    return vol.Schema(
        {
            vol.Required(CONF_PASSWORD): TextSelector(
                TextSelectorConfig(type=TextSelectorType.PASSWORD)
            )
        }
    )


def _form_data(user_input: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Return entry data from the form (not yet checked against the server)."""
    host = str(user_input.get(CONF_HOST) or "").strip()
    if not _HOST.fullmatch(host):
        return {}, {CONF_HOST: "email_invalid_host"}
    try:
        media_hosts = parse_allowed_media_hosts(
            user_input.get(CONF_ALLOWED_MEDIA_HOSTS)
        )
    except ValueError:
        return {}, {CONF_ALLOWED_MEDIA_HOSTS: "invalid_media_hosts"}
    security = Security(user_input.get(CONF_SECURITY, Security.STARTTLS))
    data: dict[str, Any] = {
        CONF_KIND: EntryKind.EMAIL.value,
        CONF_HOST: host,
        CONF_PORT: int(user_input.get(CONF_PORT) or DEFAULT_PORTS[security]),
        CONF_SECURITY: security.value,
        CONF_USERNAME: str(user_input.get(CONF_USERNAME) or "").strip(),
        CONF_PASSWORD: str(user_input.get(CONF_PASSWORD) or ""),
        CONF_SENDER: str(user_input.get(CONF_SENDER) or "").strip(),
        CONF_SENDER_NAME: str(user_input.get(CONF_SENDER_NAME) or "").strip(),
        CONF_VERIFY_SSL: bool(user_input.get(CONF_VERIFY_SSL, True)),
        CONF_ALLOWED_MEDIA_HOSTS: ", ".join(media_hosts),
        CONF_MEDIA_BUDGET_MB: int(
            user_input.get(CONF_MEDIA_BUDGET_MB) or DEFAULT_MEDIA_BUDGET_MB
        ),
    }
    for key in _OPTIONAL:
        if not data[key]:
            del data[key]
    if CONF_PASSWORD in data and CONF_USERNAME not in data:
        return {}, {CONF_USERNAME: "email_username_missing"}
    return data, {}


async def async_check_account(user_input: Mapping[str, Any]) -> Checked:
    """Check the form, then the server: connect, upgrade, log in, MAIL FROM."""
    data, errors = _form_data(user_input)
    if errors:
        return Checked(errors=errors)
    try:
        settings = settings_from_data(data)
    except ValueError:
        return Checked(errors={CONF_SENDER: "email_invalid_sender"})
    try:
        failure = await async_validate(
            settings, tls_context=fields.settings_tls(settings)
        )
    except Exception:
        _LOGGER.exception("Unexpected error checking the SMTP server %s", settings.host)
        return Checked(errors={"base": "unknown"})
    if failure is not None:
        return _failed(settings, failure)
    return Checked(data=data, settings=settings)


def _failed(settings: EmailSettings, failure: ValidationFailure) -> Checked:
    """Say which server refused and why (the reason and the server's words)."""
    _LOGGER.debug(
        "SMTP server %s: %s (%s) %s",
        settings.host,
        failure.code,
        failure.reason,
        failure.detail,
    )
    reason = (failure.reason or "").replace("_", " ")
    return Checked(
        errors={"base": f"email_{failure.code.value}"},
        placeholders={
            "server": f"{settings.host}:{settings.port}",
            "reason": reason or failure.code.value.replace("_", " "),
            "detail": short_detail(failure.detail) or "-",
        },
    )


def _entry_title(settings: EmailSettings) -> str:
    return f"{settings.sender} ({settings.host})"


def _suggested(values: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return form values to show again; a password is never sent back to the UI."""
    return {k: v for k, v in (values or {}).items() if k != CONF_PASSWORD}


class EmailEntryFlow(ConfigFlow):
    """Config flow steps of the e-mail target: one entry per SMTP account."""

    def _email_form(
        self, step_id: str, user_input: Mapping[str, Any] | None, checked: Checked
    ) -> ConfigFlowResult:
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(
                _entry_schema(), _suggested(user_input)
            ),
            errors=checked.errors,
            description_placeholders=checked.placeholders or None,
        )

    async def async_step_email(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Add an SMTP account: it is checked against the server before it exists."""
        checked = Checked()
        if user_input is not None:
            checked = await async_check_account(user_input)
            if checked.data is not None and checked.settings is not None:
                await self.async_set_unique_id(entry_unique_id(checked.settings))
                self._abort_if_unique_id_configured(error="email_already_configured")
                return self.async_create_entry(
                    title=_entry_title(checked.settings), data=checked.data
                )
        return self._email_form("email", user_input, checked)

    async def email_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the account's new password and check it with the server."""
        entry = self._get_reauth_entry()
        checked = Checked()
        if user_input is not None:
            checked = await async_check_account(
                {**entry.data, CONF_PASSWORD: user_input[CONF_PASSWORD]}
            )
            if checked.data is not None:
                return async_update_and_finish(
                    self,
                    entry,
                    data_updates={CONF_PASSWORD: checked.data[CONF_PASSWORD]},
                )
        placeholders = {
            "server": f"{entry.data[CONF_HOST]}:{entry.data[CONF_PORT]}",
            **checked.placeholders,
        }
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=_password_schema(),
            errors=checked.errors,
            description_placeholders=placeholders,
        )

    async def email_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the server or the account; an empty password keeps the current."""
        entry = self._get_reconfigure_entry()
        checked = Checked()
        if user_input is not None:
            password = user_input.get(CONF_PASSWORD) or entry.data.get(CONF_PASSWORD)
            submitted = {**user_input, CONF_PASSWORD: password}
            if not submitted.get(CONF_USERNAME):
                submitted.pop(CONF_PASSWORD)
            checked = await async_check_account(submitted)
            if checked.data is not None and checked.settings is not None:
                unique_id = entry_unique_id(checked.settings)
                if self._email_account_taken(unique_id, entry.entry_id):
                    return self.async_abort(reason="email_already_configured")
                return async_update_and_finish(
                    self,
                    entry,
                    unique_id=unique_id,
                    title=_entry_title(checked.settings),
                    data=checked.data,
                )
        return self._email_form("reconfigure", user_input or entry.data, checked)

    def _email_account_taken(self, unique_id: str, own_id: str) -> bool:
        return any(
            other.unique_id == unique_id and other.entry_id != own_id
            for other in self._async_current_entries(include_ignore=False)
        )


# --- recipient lists ------------------------------------------------------------------


def _address_field() -> TextSelector:
    return TextSelector(TextSelectorConfig(type=TextSelectorType.EMAIL, multiple=True))


class EmailRecipientFlow(SubentryFormFlow):
    """One recipient list: To (one or more), Cc, Bcc, a default subject, language
    and quiet hours; each is a notify entity."""

    def _schema(self, defaults: Mapping[str, Any]) -> vol.Schema:
        return vol.Schema(
            {
                vol.Required(CONF_TO): _address_field(),
                vol.Optional(fields.CONF_CC): _address_field(),
                vol.Optional(fields.CONF_BCC): _address_field(),
                vol.Optional(CONF_NAME): TextSelector(),
                vol.Optional(CONF_SUBJECT): TextSelector(),
                vol.Optional(CONF_LANGUAGE): LanguageSelector(),
                **quiet_hours_fields(),
            }
        )

    def _validate(self, user_input: dict[str, Any]) -> dict[str, str]:
        """Check every address; store lists, the name and only what was given."""
        errors = validate_quiet_hours(user_input)
        for key in RECIPIENT_FIELDS:
            addresses = split_addresses(user_input.get(key))
            if not all(_is_address(address) for address in addresses):
                errors[key] = "invalid_address"
            if addresses:
                user_input[key] = addresses
            else:
                user_input.pop(key, None)
        if CONF_TO not in user_input and CONF_TO not in errors:
            errors[CONF_TO] = "no_recipients"
        for key in (CONF_SUBJECT, CONF_LANGUAGE):
            value = str(user_input.get(key) or "").strip()
            if value:
                user_input[key] = value
            else:
                user_input.pop(key, None)
        name = str(user_input.get(CONF_NAME) or "").strip()
        user_input[CONF_NAME] = name or ", ".join(user_input.get(CONF_TO, ()))
        return errors

    def _unique_id(self, user_input: dict[str, Any]) -> str | None:
        try:
            return recipients_unique_id(recipients_from_data(user_input))
        except ValueError:
            return None


def _is_address(address: str) -> bool:
    try:
        Recipients(to=(address,))
    except ValueError:
        return False
    return True
