"""The Gitea source's flows: the entry (URL, token, polling) and repository routes."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from homeassistant.config_entries import ConfigFlowResult
from homeassistant.const import CONF_TOKEN, CONF_URL
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
import voluptuous as vol

from ...const import CONF_EVENTS
from ...net import (
    CONNECT_REASONS,
    async_service_url_errors,
    connect_reason,
    keep_url_credentials,
    normalize_url,
    url_without_credentials,
)
from ...sources.gitea_client import (
    GiteaAuthError,
    GiteaClient,
    GiteaConnectionError,
    GiteaError,
)
from ..shared.flows import async_update_and_finish
from ..shared.webhook_flows import (
    WebhookEntryFlow,
    WebhookRouteFlow,
    entry_schema,
    url_selector,
)
from ..shared.webhook_source import (
    CONF_LOCAL_ONLY,
    clean_list,
)
from .fields import (
    _REPOSITORY_PARTS,
    CONF_BRANCHES,
    CONF_NOTABLE_ONLY,
    CONF_REPOSITORIES,
    CONF_SCAN_INTERVAL,
    CONF_WEBHOOK_SECRET,
    EVENT_TYPES,
    MAX_SCAN_MINUTES,
    TITLE,
)
from .preview import ROUTE_PREVIEW


def _entry_schema(*, with_name: bool) -> vol.Schema:
    return entry_schema(
        TITLE,
        {
            vol.Required(CONF_URL): url_selector(),
            vol.Optional(CONF_TOKEN): TextSelector(
                TextSelectorConfig(type=TextSelectorType.PASSWORD)
            ),
            vol.Required(CONF_SCAN_INTERVAL, default=0): NumberSelector(
                NumberSelectorConfig(
                    min=0, max=MAX_SCAN_MINUTES, mode=NumberSelectorMode.BOX
                )
            ),
            vol.Required(CONF_LOCAL_ONLY, default=False): BooleanSelector(),
        },
        with_name=with_name,
    )


async def _async_settings(
    hass: HomeAssistant,
    placeholders: dict[str, str],
    user_input: Mapping[str, Any],
    current: Mapping[str, Any],
    secret: str,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Return the entry data and field errors; a token is checked against Gitea."""
    url = normalize_url(str(user_input.get(CONF_URL, "")))
    if url is None:
        return {}, {CONF_URL: "invalid_url"}
    if errors := await async_service_url_errors(CONF_URL, url):
        return {}, errors
    url = keep_url_credentials(url, current.get(CONF_URL))
    # Editing: an empty token field keeps the stored token (it is never sent back).
    token = str(user_input.get(CONF_TOKEN) or "").strip() or current.get(CONF_TOKEN)
    interval = int(user_input.get(CONF_SCAN_INTERVAL) or 0)
    if interval and not token:
        return {}, {CONF_SCAN_INTERVAL: "polling_needs_token"}
    if token and (errors := await _async_check_token(hass, url, token, placeholders)):
        return {}, errors
    data: dict[str, Any] = {
        CONF_URL: url,
        CONF_SCAN_INTERVAL: interval,
        CONF_LOCAL_ONLY: bool(user_input.get(CONF_LOCAL_ONLY, False)),
        CONF_WEBHOOK_SECRET: secret,
    }
    if token:
        data[CONF_TOKEN] = token
    return data, {}


def _unique_id(data: Mapping[str, Any]) -> str:
    return f"gitea:{data[CONF_URL]}"


async def _async_check_token(
    hass: HomeAssistant, url: str, token: str, placeholders: dict[str, str]
) -> dict[str, str]:
    """Check the token; a connection failure names the server and why."""
    client = GiteaClient(async_get_clientsession(hass), url, token)
    try:
        await client.async_validate()
    except GiteaAuthError:
        return {CONF_TOKEN: "gitea_invalid_auth"}
    except GiteaConnectionError as err:
        placeholders.update(
            server=url_without_credentials(url),
            reason=CONNECT_REASONS[connect_reason(err)],
        )
        return {"base": "gitea_cannot_connect"}
    except GiteaError:
        return {CONF_URL: "not_gitea"}
    return {}


class GiteaEntryFlow(WebhookEntryFlow):
    """Config flow steps of the gitea source."""

    async def async_step_gitea(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the Gitea URL and an optional token, then show the webhook."""
        return await self.async_webhook_create_step(
            "gitea",
            user_input,
            _entry_schema(with_name=True),
            partial(_async_settings, self.hass, self.form_placeholders),
            _unique_id,
        )

    async def gitea_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Edit URL, token and polling; shows the webhook URL and secret again."""
        return await self.async_webhook_reconfigure_step(
            user_input,
            _entry_schema(with_name=False),
            partial(_async_settings, self.hass, self.form_placeholders),
            CONF_WEBHOOK_SECRET,
            _unique_id,
        )

    async def gitea_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for a new token when Gitea refuses the stored one."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        placeholders = {"url": url_without_credentials(entry.data[CONF_URL])}
        if user_input is not None:
            token = str(user_input.get(CONF_TOKEN) or "").strip()
            errors = await _async_check_token(
                self.hass, entry.data[CONF_URL], token, placeholders
            )
            if not errors:
                return async_update_and_finish(
                    self, entry, data_updates={CONF_TOKEN: token}
                )
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_TOKEN): TextSelector(
                        TextSelectorConfig(type=TextSelectorType.PASSWORD)
                    )
                }
            ),
            errors=errors,
            description_placeholders=placeholders,
        )


class RepositoryRouteFlow(WebhookRouteFlow):
    """Which repositories, events and branches; destinations; templates."""

    route_preview = ROUTE_PREVIEW

    def _filters(self, defaults: Mapping[str, Any]) -> dict[Any, Any]:
        return {
            vol.Optional(CONF_REPOSITORIES): TextSelector(
                TextSelectorConfig(multiple=True)
            ),
            vol.Required(CONF_EVENTS, default=list(EVENT_TYPES)): SelectSelector(
                SelectSelectorConfig(
                    options=list(EVENT_TYPES),
                    multiple=True,
                    translation_key="gitea_events",
                )
            ),
            vol.Required(CONF_NOTABLE_ONLY, default=True): BooleanSelector(),
            vol.Optional(CONF_BRANCHES): TextSelector(
                TextSelectorConfig(multiple=True)
            ),
        }

    def _validate_filters(self, user_input: dict[str, Any]) -> dict[str, str]:
        repos = clean_list(user_input.get(CONF_REPOSITORIES))
        if any(
            len(repo.split("/")) != _REPOSITORY_PARTS or not all(repo.split("/"))
            for repo in repos
        ):
            return {CONF_REPOSITORIES: "invalid_repository"}
        events = clean_list(user_input.get(CONF_EVENTS))
        if not events:  # the selector allows only known event types
            return {CONF_EVENTS: "no_events"}
        user_input[CONF_REPOSITORIES] = repos
        user_input[CONF_EVENTS] = events
        user_input[CONF_BRANCHES] = clean_list(user_input.get(CONF_BRANCHES))
        user_input[CONF_NOTABLE_ONLY] = bool(user_input.get(CONF_NOTABLE_ONLY, True))
        return {}
