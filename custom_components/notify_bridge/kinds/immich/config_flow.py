"""The Immich source's entry flow: server URL and API key, reauth, reconfigure."""

from __future__ import annotations

from collections.abc import Mapping
import logging
from typing import Any

from homeassistant.config_entries import ConfigFlow, ConfigFlowResult
from homeassistant.const import CONF_API_KEY, CONF_URL, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant
from homeassistant.helpers.selector import (
    BooleanSelector,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
import voluptuous as vol
from yarl import URL

from ...const import CONF_KIND, EntryKind
from ...net import (
    CONNECT_REASONS,
    async_service_url_errors,
    connect_reason,
    keep_url_credentials,
    normalize_url,
    url_without_credentials,
)
from ...sources.immich.client import (
    ImmichAuthError,
    ImmichConnectionError,
    ImmichError,
    ImmichUser,
    ServerVersion,
)
from ..shared.flows import async_update_and_finish
from .client_factory import CONF_EXTERNAL_URL, make_client

_LOGGER = logging.getLogger(__name__)

CONF_USER_ID = "user_id"
ALREADY_CONFIGURED = "immich_already_configured"
# Immich's API lives under /api; the entry keeps the server root.
API_PATH = "/api"


def entry_unique_id(url: str, user: ImmichUser) -> str:
    """Return the unique id of an entry: the user on that server."""
    parsed = URL(url)
    return f"{user.id}@{parsed.host}:{parsed.port}{parsed.path.rstrip('/')}"


async def async_validate_server(
    hass: HomeAssistant,
    data: Mapping[str, Any],
    placeholders: dict[str, str] | None = None,
) -> tuple[tuple[ServerVersion, ImmichUser] | None, dict[str, str]]:
    """Ping, ask the version and the key's user; return what failed as form errors
    (a connection failure fills `placeholders` with the server and why)."""
    try:
        return await make_client(hass, data).async_validate(), {}
    except ImmichAuthError:
        return None, {"base": "immich_invalid_auth"}
    except ImmichConnectionError as err:
        if placeholders is not None:
            placeholders.update(
                server=url_without_credentials(str(data.get(CONF_URL, ""))),
                reason=CONNECT_REASONS[connect_reason(err)],
            )
        return None, {"base": "immich_cannot_connect"}
    except ImmichError:
        return None, {"base": "not_immich"}
    except Exception:
        _LOGGER.exception("Unexpected error validating the Immich server")
        return None, {"base": "unknown"}


def _entry_schema(defaults: Mapping[str, Any]) -> vol.Schema:
    return vol.Schema(
        {
            vol.Required(CONF_URL, default=defaults.get(CONF_URL, vol.UNDEFINED)): (
                TextSelector(TextSelectorConfig(type=TextSelectorType.URL))
            ),
            vol.Required(CONF_API_KEY): TextSelector(
                TextSelectorConfig(type=TextSelectorType.PASSWORD)
            ),
            vol.Required(
                CONF_VERIFY_SSL, default=defaults.get(CONF_VERIFY_SSL, True)
            ): BooleanSelector(),
            # Suggested, not a default: clearing the field removes it.
            vol.Optional(
                CONF_EXTERNAL_URL,
                description={"suggested_value": defaults.get(CONF_EXTERNAL_URL)},
            ): TextSelector(TextSelectorConfig(type=TextSelectorType.URL)),
        }
    )


def external_url(value: Any) -> tuple[str | None, dict[str, str]]:
    """Return the address album links use (None: the polled one), or an error.

    Only written into links, never fetched, so it needs no address check; it
    never carries credentials (links go to chats)."""
    if not value:
        return None, {}
    normalized = normalize_url(str(value))
    if normalized is None:
        return None, {CONF_EXTERNAL_URL: "invalid_url"}
    return url_without_credentials(normalized).rstrip("/"), {}


class ImmichEntryFlow(ConfigFlow):
    """Config flow steps of the Immich source."""

    @property
    def _immich_connect_failure(self) -> dict[str, str]:
        """Server and reason of the last connection failure, for the form's error
        (the mixin has no __init__ of its own: made on first use)."""
        state: dict[str, str] = self.__dict__.setdefault(
            "_immich_connect_failure_state", {"server": "", "reason": ""}
        )
        return state

    async def _async_check(
        self, user_input: dict[str, Any]
    ) -> tuple[dict[str, Any] | None, ImmichUser | None, dict[str, str]]:
        url = normalize_url(str(user_input.get(CONF_URL, "")), drop_suffix=API_PATH)
        if url is None:
            return None, None, {CONF_URL: "invalid_url"}
        if errors := await async_service_url_errors(CONF_URL, url):
            return None, None, errors
        link_url, errors = external_url(user_input.get(CONF_EXTERNAL_URL))
        if errors:
            return None, None, errors
        data = {**user_input, CONF_URL: url}
        data.pop(CONF_EXTERNAL_URL, None)
        if link_url:
            data[CONF_EXTERNAL_URL] = link_url
        result, errors = await async_validate_server(
            self.hass, data, self._immich_connect_failure
        )
        if result is None:
            return None, None, errors
        return data, result[1], {}

    async def async_step_immich(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Connect to an Immich server with an API key."""
        errors: dict[str, str] = {}
        if user_input is not None:
            data, user, errors = await self._async_check(user_input)
            if data is not None and user is not None:
                await self.async_set_unique_id(entry_unique_id(data[CONF_URL], user))
                self._abort_if_unique_id_configured(error=ALREADY_CONFIGURED)
                host = URL(data[CONF_URL]).host
                return self.async_create_entry(
                    # The kind first: "Alice @ nas" alone does not say it is Immich.
                    title=f"Immich: {user.name or user.email} @ {host}",
                    data={CONF_KIND: EntryKind.IMMICH, **data, CONF_USER_ID: user.id},
                )
        return self.async_show_form(
            step_id="immich",
            data_schema=_entry_schema(user_input or {}),
            errors=errors,
            description_placeholders=self._immich_connect_failure,
        )

    async def immich_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Validate the new API key against the same server and user."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {**entry.data, CONF_API_KEY: user_input[CONF_API_KEY]}
            result, errors = await async_validate_server(
                self.hass, data, self._immich_connect_failure
            )
            if result is not None:
                if result[1].id != entry.data[CONF_USER_ID]:
                    return self.async_abort(reason="immich_wrong_account")
                return async_update_and_finish(
                    self, entry, data_updates={CONF_API_KEY: user_input[CONF_API_KEY]}
                )
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_API_KEY): TextSelector(
                        TextSelectorConfig(type=TextSelectorType.PASSWORD)
                    )
                }
            ),
            description_placeholders={
                **self._immich_connect_failure,
                CONF_URL: url_without_credentials(entry.data[CONF_URL]),
            },
            errors=errors,
        )

    async def immich_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the URL, key or certificate check; the user must stay the same."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            url = keep_url_credentials(user_input[CONF_URL], entry.data[CONF_URL])
            data, user, errors = await self._async_check({**user_input, CONF_URL: url})
            if data is not None and user is not None:
                if user.id != entry.data[CONF_USER_ID]:
                    return self.async_abort(reason="immich_wrong_account")
                unique_id = entry_unique_id(data[CONF_URL], user)
                if any(
                    other.unique_id == unique_id and other.entry_id != entry.entry_id
                    for other in self._async_current_entries(include_ignore=False)
                ):
                    return self.async_abort(reason=ALREADY_CONFIGURED)
                return async_update_and_finish(
                    self, entry, unique_id=unique_id, data_updates=data
                )
        defaults = user_input or {
            **entry.data,
            CONF_URL: url_without_credentials(entry.data[CONF_URL]),
        }
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                _entry_schema(defaults), {CONF_API_KEY: defaults.get(CONF_API_KEY)}
            ),
            errors=errors,
            description_placeholders=self._immich_connect_failure,
        )
