"""The Gitea poller: releases and issues/PRs since the last poll (needs a token)."""

from __future__ import annotations

from datetime import datetime, timedelta
import logging
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_TOKEN, CONF_URL
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from ...const import DOMAIN
from ...runtime import BridgeHub
from ...sources import gitea
from ...sources.gitea_client import (
    GiteaAuthError,
    GiteaClient,
    GiteaError,
    async_poll,
    event_key,
)
from ..shared.webhook_source import WebhookSourceRuntime, WebhookState
from .fields import CONF_REPOSITORIES, CONF_SCAN_INTERVAL

_LOGGER = logging.getLogger(__name__)


def _watched_repositories(entry: ConfigEntry[Any]) -> list[str] | None:
    """Return the repositories routes name, or None when one watches them all."""
    repos: list[str] = []
    for subentry in entry.subentries.values():
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

    config_entry: ConfigEntry[Any]

    def __init__(
        self,
        hass: HomeAssistant,
        hub: BridgeHub,
        entry: ConfigEntry[Any],
        runtime: WebhookSourceRuntime,
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
        self.last_found = 0
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
        # New events the poll found (the refresh action reports it).
        self.last_found = 0
        for event in events:
            key = event_key(event)
            # The first poll only sets the baseline: what it finds is remembered,
            # not notified (old history is not news).
            if key is not None and self.state.reported.claim(key) and since:
                self.last_found += 1
                self.hub.async_submit_event(
                    self.config_entry,
                    self.runtime,
                    event.to_bridge_event(self.config_entry.entry_id),
                )
        self.state.cursor = now.isoformat()
        self.state.async_schedule_save()


def _parse_cursor(value: str | None) -> datetime | None:
    return None if value is None else dt_util.parse_datetime(value)
