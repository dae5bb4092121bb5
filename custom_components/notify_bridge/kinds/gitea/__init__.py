"""The Gitea source: signed webhooks, optional polling with a token, and
"repository route" subentries."""

from __future__ import annotations

from ...const import SUBENTRY_GITEA_ROUTE, EntryKind
from ...runtime import EntrySteps, Kind
from ..shared.entities import source_entities
from ..shared.webhook_source import webhook_store_key
from .config_flow import GiteaEntryFlow, RepositoryRouteFlow
from .fields import EVENT_TYPES
from .preview import ROUTE_PREVIEW
from .setup import async_setup_gitea

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
        route_model="Repository route", problem=True, event_types=EVENT_TYPES
    ),
    store_keys=lambda entry: [webhook_store_key(entry.entry_id)],
    poller=lambda entry: entry.runtime_data.poller,
    route_preview=ROUTE_PREVIEW,
)
