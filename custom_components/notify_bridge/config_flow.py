"""Config flow: a menu of entry kinds; each kind's steps come from its `EntrySteps`.

Wired explicitly: the menu option of a kind opens its create step (step id = the
kind), and the standard steps (`reconfigure`, `reauth_confirm`) call the entry's kind's
step from the table; subentry flows use `user` and `reconfigure` too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
    OptionsFlow,
)
from homeassistant.core import callback

from .catalog import KINDS
from .const import CONF_KIND, DOMAIN, ENTRY_VERSION
from .runtime import EntryStep

# Example addresses in the config forms' descriptions. Translations may not hold
# URLs (hassfest), so every config form gets them as description placeholders.
URL_EXAMPLES: Mapping[str, str] = {
    "immich_url_example": "https://photos.example.com",
    "gitea_url_example": "https://git.example.com",
    "bot_api_url_example": "http://192.168.1.5:8081",
}

# The kinds' step helpers (forms, checks), which their table entries call.
_KIND_FLOWS = tuple(
    kind.entry_steps.flow for kind in KINDS.values() if kind.entry_steps.flow
)


class NotifyBridgeConfigFlow(*_KIND_FLOWS, ConfigFlow, domain=DOMAIN):  # type: ignore[misc]
    """Create and edit targets and sources."""

    VERSION = ENTRY_VERSION

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Each kind has its one subentry type (a chat, an album route, ...)."""
        kind = KINDS[config_entry.data[CONF_KIND]]
        return {kind.subentry_type: kind.subentry_flow}

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> OptionsFlow:
        """Return the options flow of the entry's kind."""
        flow = KINDS[config_entry.data[CONF_KIND]].options_flow
        if flow is None:  # not offered (async_supports_options_flow)
            raise NotImplementedError
        return flow()

    @classmethod
    @callback
    def async_supports_options_flow(cls, config_entry: ConfigEntry) -> bool:
        """Offer options only for the kinds that have them."""
        return KINDS[config_entry.data[CONF_KIND]].options_flow is not None

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Pick what to add; each option is the create step of a kind."""
        return self.async_show_menu(step_id="user", menu_options=list(KINDS))

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Edit an entry with its kind's reconfigure step."""
        kind = KINDS[self._get_reconfigure_entry().data[CONF_KIND]]
        return await self._run(kind.entry_steps.reconfigure, user_input)

    async def async_step_reauth(
        self, entry_data: Mapping[str, Any]
    ) -> ConfigFlowResult:
        """Ask again for the credentials of a kind that has them."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Check new credentials with the entry's kind's step."""
        kind = KINDS[self._get_reauth_entry().data[CONF_KIND]]
        return await self._run(kind.entry_steps.reauth_confirm, user_input)

    @callback
    def async_show_form(
        self,
        *,
        step_id: str | None = None,
        description_placeholders: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> ConfigFlowResult:
        """Show a form; the standard entry steps always name the entry and service
        (their one translation serves every kind), every form has the examples."""
        description_placeholders = {
            **URL_EXAMPLES,
            **(description_placeholders or {}),
        }
        if step_id in ("reconfigure", "reauth_confirm"):
            entry = (
                self._get_reconfigure_entry()
                if step_id == "reconfigure"
                else self._get_reauth_entry()
            )
            description_placeholders = {
                "name": entry.title,
                "service": KINDS[entry.data[CONF_KIND]].manufacturer,
                **description_placeholders,
            }
        return super().async_show_form(
            step_id=step_id, description_placeholders=description_placeholders, **kwargs
        )

    async def _run(
        self, step: EntryStep | None, user_input: dict[str, Any] | None
    ) -> ConfigFlowResult:
        if step is None:
            # Only reached by a hand-made flow: every kind's table covers its entries.
            return self.async_abort(reason="not_supported")
        return await step(self, user_input)
