"""Config flow: a menu of entry kinds; each kind's steps live in kinds/<kind>.py."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
)
from homeassistant.const import CONF_NAME
from homeassistant.core import callback

from .const import CONF_KIND, DOMAIN
from .flows import async_update_and_finish, name_schema
from .kinds import all_kinds

KINDS = all_kinds()


class NotifyBridgeConfigFlow(
    *(kind.entry_flow for kind in KINDS.values()),  # type: ignore[misc]
    ConfigFlow,
    domain=DOMAIN,
):
    """Create and edit targets and sources."""

    VERSION = 1

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Targets have destinations, sources have routes."""
        return dict(KINDS[config_entry.data[CONF_KIND]].subentry_flows)

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Pick what to add."""
        return self.async_show_menu(step_id="user", menu_options=list(KINDS))

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Edit an entry: the kind's own step, or a rename for kinds without settings."""
        entry = self._get_reconfigure_entry()
        kind_step = getattr(
            self, f"async_step_reconfigure_{entry.data[CONF_KIND]}", None
        )
        if kind_step is not None:
            return await kind_step(user_input)
        if user_input is not None:
            return async_update_and_finish(self, entry, title=user_input[CONF_NAME])
        return self.async_show_form(
            step_id="reconfigure", data_schema=name_schema(entry.title)
        )

    async def async_step_reauth(
        self, entry_data: Mapping[str, Any]
    ) -> ConfigFlowResult:
        """Ask again for the credentials of a kind that has them."""
        return await getattr(self, f"async_step_reauth_{entry_data[CONF_KIND]}")()
