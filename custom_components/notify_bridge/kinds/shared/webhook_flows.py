"""The config and subentry flows the webhook source kinds (gitea, planka, webhook)
share: the step that shows the webhook URL and secret, and a route flow base."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from homeassistant.components.webhook import async_generate_id
from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
)
from homeassistant.const import CONF_NAME, CONF_URL, Platform
from homeassistant.helpers.selector import (
    BooleanSelector,
    EntitySelector,
    EntitySelectorConfig,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
from homeassistant.helpers.typing import UNDEFINED, UndefinedType
import voluptuous as vol

from ...const import (
    CONF_DESTINATIONS,
    CONF_KIND,
    CONF_TEMPLATE,
    CONF_TITLE_TEMPLATE,
    DOMAIN,
    SECRET_FIELDS,
)
from ...net import normalize_url, url_without_credentials
from ...pipeline.render import TemplateError, validate_template
from .flows import (
    SubentryFormFlow,
    async_update_and_finish,
    route_policy_fields,
    validate_schedule,
)
from .webhook_source import (
    CONF_REGENERATE,
    CONF_WEBHOOK_ID,
    SHOW_WEBHOOK_STEP,
    new_secret,
    webhook_url,
)

# Turns a submitted entry form into entry data (without kind and webhook id) or field
# errors; `current` is the entry's data when editing, `secret` the credential to keep.
type SettingsBuilder = Callable[
    [Mapping[str, Any], Mapping[str, Any], str],
    Awaitable[tuple[dict[str, Any], dict[str, str]]],
]
# The unique id of an entry with the given data (None: no uniqueness).
type UniqueId = Callable[[Mapping[str, Any]], str | None]


def _no_unique_id(data: Mapping[str, Any]) -> str | None:
    return None


class WebhookEntryFlow(ConfigFlow):
    """Create and edit webhook entries; shows the webhook URL and secret."""

    _webhook_pending: tuple[str, dict[str, Any]] | None = None
    # The unique id a reconfigure gives the entry (`movable` kinds only).
    _webhook_unique_id: str | UndefinedType | None = UNDEFINED
    _form_placeholders: dict[str, str] | None = None

    @property
    def form_placeholders(self) -> dict[str, str]:
        """What a settings check adds to its form error (which server, and why a
        connection failed); shown with the form it shows again."""
        if self._form_placeholders is None:
            self._form_placeholders = {}
        return self._form_placeholders

    def webhook_placeholders(self, data: Mapping[str, Any]) -> dict[str, str]:
        """Return the URL and credential to show (in the create or edit step)."""
        credential = next(
            (
                str(data[key])
                for key in ("webhook_secret", "access_token", "secret")
                if data.get(key)
            ),
            "-",
        )
        return {
            "webhook_url": webhook_url(self.hass, data[CONF_WEBHOOK_ID]),
            "secret": credential,
        }

    async def async_webhook_create_step(
        self,
        step_id: str,
        user_input: dict[str, Any] | None,
        schema: vol.Schema,
        settings: SettingsBuilder,
        unique_id: UniqueId = _no_unique_id,
    ) -> ConfigFlowResult:
        """Validate the form, then show the URL and new secret before creating."""
        errors: dict[str, str] = {}
        if user_input is not None:
            data, errors = await settings(user_input, {}, new_secret())
            if not errors:
                if (uid := unique_id(data)) is not None:
                    await self.async_set_unique_id(uid)
                    self._abort_if_unique_id_configured(
                        error=f"{step_id}_already_configured"
                    )
                data = {
                    CONF_KIND: step_id,
                    CONF_WEBHOOK_ID: async_generate_id(),
                    **data,
                }
                return self.async_show_webhook(user_input[CONF_NAME], data)
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(schema, user_input or {}),
            errors=errors,
            description_placeholders=self.form_placeholders or None,
        )

    async def async_webhook_reconfigure_step(
        self,
        user_input: dict[str, Any] | None,
        schema: vol.Schema,
        settings: SettingsBuilder,
        secret_key: str,
        unique_id: UniqueId = _no_unique_id,
        *,
        movable: bool = False,
    ) -> ConfigFlowResult:
        """Edit an entry; the URL and secret are shown again, the secret kept or new.

        The unique id must stay the same instance, unless `movable` (an optional URL
        only used for links): then it follows the data, refused if another has it.
        """
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            secret = (
                None if user_input.get(CONF_REGENERATE) else entry.data.get(secret_key)
            )
            data, errors = await settings(
                user_input, entry.data, secret or new_secret()
            )
            if not errors:
                if movable:
                    uid = unique_id(data)
                    if self._taken_by_another(entry, uid):
                        return self.async_abort(
                            reason=f"{entry.data[CONF_KIND]}_already_configured"
                        )
                    self._webhook_unique_id = uid
                elif (uid := unique_id(data)) is not None:
                    await self.async_set_unique_id(uid)
                    self._abort_if_unique_id_mismatch(
                        reason=f"{entry.data[CONF_KIND]}_different_instance"
                    )
                kept = {key: entry.data[key] for key in (CONF_KIND, CONF_WEBHOOK_ID)}
                # The URL and (maybe new) secret are shown before the entry changes.
                return self.async_show_webhook(entry.title, {**kept, **data})
        # Credentials are never sent back to the form.
        current = {
            key: value for key, value in entry.data.items() if key not in SECRET_FIELDS
        }
        if current.get(CONF_URL):
            current[CONF_URL] = url_without_credentials(current[CONF_URL])
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                schema, user_input or current
            ),
            errors=errors,
            description_placeholders=self.form_placeholders or None,
        )

    def _taken_by_another(self, entry: ConfigEntry, unique_id: str | None) -> bool:
        return unique_id is not None and any(
            other.unique_id == unique_id and other.entry_id != entry.entry_id
            for other in self._async_current_entries(include_ignore=False)
        )

    def async_show_webhook(self, title: str, data: dict[str, Any]) -> ConfigFlowResult:
        """Show where to point the sender; the entry is created on submit."""
        self._webhook_pending = (title, data)
        return self.async_show_form(
            step_id=SHOW_WEBHOOK_STEP,
            data_schema=vol.Schema({}),
            description_placeholders=self.webhook_placeholders(data),
        )

    async def async_step_show_webhook(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Create (or update) the entry once the user has copied URL and secret."""
        if self._webhook_pending is None:
            return self.async_abort(reason="unknown")
        title, data = self._webhook_pending
        if self.source == SOURCE_RECONFIGURE:
            return async_update_and_finish(
                self,
                self._get_reconfigure_entry(),
                data=data,
                unique_id=self._webhook_unique_id,
            )
        return self.async_create_entry(title=title, data=data)


def entry_schema(
    title: str, fields: Mapping[Any, Any], *, with_name: bool
) -> vol.Schema:
    """Return a webhook entry's form: its name first when it is created (`title`
    suggested), the kind's fields, and "new secret" last when it is edited."""
    schema: dict[Any, Any] = (
        {vol.Required(CONF_NAME, default=title): TextSelector()} if with_name else {}
    )
    schema.update(fields)
    if not with_name:
        schema[vol.Required(CONF_REGENERATE, default=False)] = BooleanSelector()
    return vol.Schema(schema)


def url_selector() -> TextSelector:
    """Return a URL text field."""
    return TextSelector(TextSelectorConfig(type=TextSelectorType.URL))


def optional_url(value: Any) -> tuple[str | None, dict[str, str]]:
    """Validate an optional base URL: (normalized or None, errors)."""
    if not value:
        return None, {}
    normalized = normalize_url(str(value))
    if normalized is None:
        return None, {CONF_URL: "invalid_url"}
    return normalized, {}


class WebhookRouteFlow(SubentryFormFlow):
    """A webhook route: kind-specific filters, destinations and templates."""

    # The message template may stay empty: each event type's default is used.
    template_required = False
    default_template: str | None = None

    def _filters(self, defaults: Mapping[str, Any]) -> dict[Any, Any]:
        raise NotImplementedError

    def _validate_filters(self, user_input: dict[str, Any]) -> dict[str, str]:
        raise NotImplementedError

    def _schema(self, defaults: Mapping[str, Any]) -> vol.Schema:
        template_key = (
            vol.Required(CONF_TEMPLATE, default=self.default_template)
            if self.template_required
            else vol.Optional(CONF_TEMPLATE)
        )
        return vol.Schema(
            {
                vol.Required(CONF_NAME): TextSelector(),
                **self._filters(defaults),
                vol.Required(CONF_DESTINATIONS): EntitySelector(
                    EntitySelectorConfig(
                        integration=DOMAIN, domain=Platform.NOTIFY, multiple=True
                    )
                ),
                template_key: TextSelector(TextSelectorConfig(multiline=True)),
                vol.Optional(CONF_TITLE_TEMPLATE): TextSelector(),
                **route_policy_fields(),
            }
        )

    def _validate(self, user_input: dict[str, Any]) -> dict[str, str]:
        if errors := self._validate_filters(user_input):
            return errors
        if not user_input.get(CONF_DESTINATIONS):
            return {CONF_DESTINATIONS: "no_destinations"}
        for key in (CONF_TEMPLATE, CONF_TITLE_TEMPLATE):
            text = (user_input.get(key) or "").strip()
            try:
                validate_template(text)
            except TemplateError:
                return {key: "invalid_template"}
            user_input[key] = text
        return validate_schedule(user_input)
