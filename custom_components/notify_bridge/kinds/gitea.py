"""The gitea source: signed webhooks, optional polling with a token; flows and setup."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import partial
import logging
from typing import Any, Final

from homeassistant.config_entries import ConfigFlowResult, ConfigSubentry
from homeassistant.const import CONF_TOKEN, CONF_URL, Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.dispatcher import async_dispatcher_send
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
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util
import voluptuous as vol

from ..const import (
    CONF_TEMPLATE,
    DOMAIN,
    SIGNAL_SOURCE_UPDATED,
    SUBENTRY_ROUTE,
    EntryKind,
)
from ..flows import async_update_and_finish
from ..hub import NotifyBridgeConfigEntry, NotifyBridgeHub, SourceRuntime
from ..net import (
    async_service_url_errors,
    keep_url_credentials,
    url_without_credentials,
)
from ..pipeline.models import BridgeEvent, Route
from ..sources import gitea
from ..sources.gitea_client import (
    GiteaAuthError,
    GiteaClient,
    GiteaConnectionError,
    GiteaError,
    async_poll,
    event_key,
)
from ..sources.ingress import InboundWebhook
from . import Kind
from ._webhook_common import (
    CONF_LOCAL_ONLY,
    CONF_REGENERATE,
    WebhookEntryFlow,
    WebhookRouteFlow,
    WebhookState,
    async_setup_webhook_source,
    clean_list,
    name_field,
    normalize_url,
    route_variants,
    url_selector,
    value_variants,
    webhook_store_key,
)

_LOGGER = logging.getLogger(__name__)

TITLE: Final = "Gitea"
CONF_WEBHOOK_SECRET: Final = "webhook_secret"  # noqa: S105 - a field name
CONF_SCAN_INTERVAL: Final = "scan_interval"
CONF_REPOSITORIES: Final = "repositories"
CONF_EVENTS: Final = "events"
CONF_BRANCHES: Final = "branches"
CONF_NOTABLE_ONLY: Final = "notable_only"

# Event types a route can pick; all of them by default, notable actions only.
EVENT_TYPES: Final = (
    gitea.PUSH,
    gitea.CREATE,
    gitea.DELETE,
    gitea.ISSUES,
    gitea.ISSUE_COMMENT,
    gitea.PULL_REQUEST,
    gitea.RELEASE,
    gitea.WORKFLOW_RUN,
    gitea.WORKFLOW_JOB,
)
# Event types whose context has a branch; a branch filter applies to these only.
BRANCH_EVENTS: Final = frozenset(
    {
        gitea.PUSH,
        gitea.CREATE,
        gitea.DELETE,
        gitea.PULL_REQUEST,
        gitea.WORKFLOW_RUN,
        gitea.WORKFLOW_JOB,
    }
)
MAX_SCAN_MINUTES: Final = 1440
# Pollers of loaded Gitea entries with polling on, by entry id (for a `refresh`).
_REPOSITORY_PARTS: Final = 2


def _entry_schema(*, with_name: bool) -> vol.Schema:
    fields: dict[Any, Any] = name_field(TITLE) if with_name else {}
    fields.update(
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
        }
    )
    if not with_name:
        fields[vol.Required(CONF_REGENERATE, default=False)] = BooleanSelector()
    return vol.Schema(fields)


async def _async_settings(
    hass: HomeAssistant,
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
    if token and (errors := await _async_check_token(hass, url, token)):
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
    hass: HomeAssistant, url: str, token: str
) -> dict[str, str]:
    client = GiteaClient(async_get_clientsession(hass), url, token)
    try:
        await client.async_validate()
    except GiteaAuthError:
        return {CONF_TOKEN: "invalid_auth"}
    except GiteaConnectionError:
        return {"base": "cannot_connect"}
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
            partial(_async_settings, self.hass),
            _unique_id,
        )

    async def async_step_reconfigure_gitea(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Edit URL, token and polling; shows the webhook URL and secret again."""
        return await self.async_webhook_reconfigure_step(
            "reconfigure_gitea",
            user_input,
            _entry_schema(with_name=False),
            partial(_async_settings, self.hass),
            CONF_WEBHOOK_SECRET,
            _unique_id,
        )

    async def async_step_reauth_gitea(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for a new token when Gitea refuses the stored one."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            token = str(user_input.get(CONF_TOKEN) or "").strip()
            errors = await _async_check_token(self.hass, entry.data[CONF_URL], token)
            if not errors:
                return async_update_and_finish(
                    self, entry, data_updates={CONF_TOKEN: token}
                )
        return self.async_show_form(
            step_id="reauth_gitea",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_TOKEN): TextSelector(
                        TextSelectorConfig(type=TextSelectorType.PASSWORD)
                    )
                }
            ),
            errors=errors,
            description_placeholders={
                "url": url_without_credentials(entry.data[CONF_URL])
            },
        )


class GiteaRouteFlow(WebhookRouteFlow):
    """Which repositories, events and branches; destinations; templates."""

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


def build_routes(source_entry_id: str, subentry: ConfigSubentry) -> list[Route]:
    """Expand a route subentry into disjoint pipeline routes.

    One per event type (each has its own default template), repository and, for
    event types that carry a branch, branch. Repositories match in any case
    ("Alice/Repo" and "alice/repo" are one repository in Gitea).
    """
    data = subentry.data
    custom = data.get(CONF_TEMPLATE) or None
    base: dict[str, Any] = (
        {"notify_by_default": True} if data.get(CONF_NOTABLE_ONLY, True) else {}
    )
    variants = []
    for event_type in data.get(CONF_EVENTS) or EVENT_TYPES:
        branches = data.get(CONF_BRANCHES) if event_type in BRANCH_EVENTS else None
        repos = (
            key
            for repo in data.get(CONF_REPOSITORIES, ())
            if (key := gitea.repository_key(repo)) is not None
        )
        for repo_match in value_variants(gitea.REPOSITORY_KEY, repos):
            for branch_match in value_variants("branch", branches or ()):
                variants.append(
                    (
                        frozenset({event_type}),
                        {**base, **repo_match, **branch_match},
                        custom or gitea.default_template(event_type),
                    )
                )
    return route_variants(subentry, source_entry_id, variants)


def _watched_repositories(entry: NotifyBridgeConfigEntry) -> list[str] | None:
    """Return the repositories routes name, or None when one watches them all."""
    repos: list[str] = []
    for subentry in entry.subentries.values():
        if subentry.subentry_type != SUBENTRY_ROUTE:
            continue
        named = subentry.data.get(CONF_REPOSITORIES)
        if not named:
            return None
        repos.extend(named)
    # One spelling per repository (Gitea ignores case; the first one typed is asked).
    unique: dict[str | None, str] = {}
    for repo in repos:
        unique.setdefault(gitea.repository_key(repo), repo)
    return list(unique.values())


class GiteaPoller(DataUpdateCoordinator[None]):
    """Polls releases and issues/PRs since the last poll (needs a token)."""

    config_entry: NotifyBridgeConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        hub: NotifyBridgeHub,
        entry: NotifyBridgeConfigEntry,
        runtime: SourceRuntime,
        state: WebhookState,
    ) -> None:
        """Poll every `scan_interval` minutes."""
        super().__init__(
            hass,
            _LOGGER,
            config_entry=entry,
            name=f"Gitea {entry.title}",
            update_interval=timedelta(minutes=entry.data[CONF_SCAN_INTERVAL]),
        )
        self.hub = hub
        self.runtime = runtime
        self.state = state
        self.repositories = _watched_repositories(entry)
        self.client = GiteaClient(
            async_get_clientsession(hass), entry.data[CONF_URL], entry.data[CONF_TOKEN]
        )

    async def _async_update_data(self) -> None:
        now = dt_util.utcnow()
        since = _parse_cursor(self.state.cursor)
        try:
            events = await async_poll(
                self.client,
                self.config_entry.data[CONF_URL],
                since or now,
                self.repositories,
            )
        except GiteaAuthError as err:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="gitea_auth_failed"
            ) from err
        except GiteaError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="gitea_poll_failed",
                translation_placeholders={"error": str(err)},
            ) from err
        for event in events:
            key = event_key(event)
            # The first poll only sets the baseline: what it finds is remembered,
            # not notified (old history is not news).
            if key is not None and self.state.reported.claim(key) and since:
                self.hub.async_submit_event(
                    self.config_entry,
                    self.runtime,
                    event.to_bridge_event(self.config_entry.entry_id),
                )
        self.state.cursor = now.isoformat()
        self.state.async_schedule_save()


def _parse_cursor(value: str | None) -> datetime | None:
    return None if value is None else dt_util.parse_datetime(value)


def _parse(
    entry_id: str, state: WebhookState, inbound: InboundWebhook
) -> BridgeEvent | None:
    event = gitea.parse_gitea_webhook(inbound)
    if (key := event_key(event)) is not None:
        # Remembered so a poll never reports it again. A webhook always notifies:
        # an issue closed, reopened and closed again is news.
        state.reported.claim(key)
        state.async_schedule_save()
    return event.to_bridge_event(entry_id, request_id=inbound.request_id)


async def async_setup_gitea(
    hass: HomeAssistant, hub: NotifyBridgeHub, entry: NotifyBridgeConfigEntry
) -> SourceRuntime:
    """Register the webhook; start polling when a token and an interval are set."""
    runtime, state = await async_setup_webhook_source(
        hass,
        hub,
        entry,
        ingress=gitea.gitea_ingress_config(entry.data.get(CONF_WEBHOOK_SECRET)),
        build_routes=build_routes,
        parse=partial(_parse, entry.entry_id),
    )
    if entry.data.get(CONF_TOKEN) and entry.data.get(CONF_SCAN_INTERVAL):
        poller = GiteaPoller(hass, hub, entry, runtime, state)
        runtime.problem = False

        @callback
        def on_update() -> None:
            problem = not poller.last_update_success
            if problem != runtime.problem:
                runtime.problem = problem
                async_dispatcher_send(
                    hass, SIGNAL_SOURCE_UPDATED.format(entry.entry_id)
                )

        entry.async_on_unload(poller.async_add_listener(on_update))
        hub.register_poller(entry, poller)
        # A failed poll (even a refused token, which starts reauth) must not stop
        # the webhook: no first-refresh raise here, the problem sensor shows it.
        await poller.async_refresh()
        on_update()
    return runtime


KIND = Kind(
    kind=EntryKind.GITEA,
    platforms=(Platform.BINARY_SENSOR, Platform.SENSOR),
    setup=async_setup_gitea,
    entry_flow=GiteaEntryFlow,
    subentry_flows={SUBENTRY_ROUTE: GiteaRouteFlow},
    store_keys=lambda entry: [webhook_store_key(entry.entry_id)],
)
