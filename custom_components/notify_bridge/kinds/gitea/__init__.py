"""The Gitea source: signed webhooks, optional polling with a token, and
"repository route" subentries."""

from __future__ import annotations

from typing import Any

from homeassistant.const import Platform

from ...const import SUBENTRY_GITEA_ROUTE, EntryKind
from ...runtime import EntrySteps, Kind, Poller
from ..shared.entities import source_entities
from ..shared.refresh import refresh_button
from ..shared.webhook_source import webhook_store_key
from .config_flow import GiteaEntryFlow, RepositoryRouteFlow
from .fields import EVENT_TYPES
from .preview import ROUTE_PREVIEW
from .setup import async_setup_gitea


def _poller(entry: Any) -> Poller | None:
    """The entry's poller: only with a token and a polling interval."""
    poller: Poller | None = entry.runtime_data.poller
    return poller


KIND = Kind(
    kind=EntryKind.GITEA,
    manufacturer="Gitea",
    setup=async_setup_gitea,
    entry_steps=EntrySteps(
        create=GiteaEntryFlow.async_step_gitea,
        reconfigure=GiteaEntryFlow.gitea_reconfigure,
        reauth_confirm=GiteaEntryFlow.gitea_reauth_confirm,
        flow=GiteaEntryFlow,
    ),
    subentry_type=SUBENTRY_GITEA_ROUTE,
    subentry_flow=RepositoryRouteFlow,
    entities=source_entities(
        route_model="Repository route",
        problem=True,
        event_types=EVENT_TYPES,
        extra={Platform.BUTTON: refresh_button(_poller)},
    ),
    store_keys=lambda entry: [webhook_store_key(entry.entry_id)],
    poller=_poller,
    route_preview=ROUTE_PREVIEW,
)
