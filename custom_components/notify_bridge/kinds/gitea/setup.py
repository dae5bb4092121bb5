"""Setting up a Gitea entry: its webhook, and a poller when a token and interval are set."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.const import CONF_TOKEN
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_send

from ...const import CONF_EVENTS, CONF_TEMPLATE, SIGNAL_SOURCE_UPDATED
from ...pipeline.models import BridgeEvent, Route
from ...runtime import BridgeHub
from ...sources import gitea
from ...sources.gitea_client import event_key
from ...sources.ingress import InboundWebhook
from ..shared.refresh import async_remove_refresh_button
from ..shared.webhook_source import (
    WebhookSourceRuntime,
    WebhookState,
    async_setup_webhook_source,
    route_variants,
    value_variants,
)
from .coordinator import GiteaPoller
from .fields import (
    BRANCH_EVENTS,
    CONF_BRANCHES,
    CONF_NOTABLE_ONLY,
    CONF_REPOSITORIES,
    CONF_SCAN_INTERVAL,
    CONF_WEBHOOK_SECRET,
    EVENT_TYPES,
)


@dataclass(slots=True, kw_only=True)
class GiteaRuntime(WebhookSourceRuntime):
    """Runtime data of a Gitea entry; the poller when polling is on."""

    # Not in the repr: its client holds the token.
    poller: GiteaPoller | None = field(default=None, repr=False)


type GiteaConfigEntry = ConfigEntry[GiteaRuntime]


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
    hass: HomeAssistant, hub: BridgeHub, entry: GiteaConfigEntry
) -> GiteaRuntime:
    """Register the webhook; start polling when a token and an interval are set."""
    runtime = await async_setup_webhook_source(
        hass,
        hub,
        entry,
        ingress=gitea.gitea_ingress_config(entry.data.get(CONF_WEBHOOK_SECRET)),
        build_routes=build_routes,
        parse=partial(_parse, entry.entry_id),
        runtime_type=GiteaRuntime,
    )
    if entry.data.get(CONF_TOKEN) and entry.data.get(CONF_SCAN_INTERVAL):
        poller = runtime.poller = GiteaPoller(hass, hub, entry, runtime, runtime.state)
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
        # A failed poll (even a refused token, which starts reauth) must not stop
        # the webhook: no first-refresh raise here, the problem sensor shows it.
        await poller.async_refresh()
        on_update()
    else:
        # Polling turned off: its "Refresh now" button goes (Home Assistant would
        # keep it, unavailable).
        async_remove_refresh_button(hass, entry)
    return runtime
