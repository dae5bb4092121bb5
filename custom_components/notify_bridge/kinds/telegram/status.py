"""What the bot's built-in commands ask the bridge: `BridgeStatus` over the hub.

/status reads the hub's destinations and the policy's backlog, and the sources
whose connection has a problem; /latest reads what this bot delivered (kept per
destination as deliveries finish, with their dispatch id); /mute holds a
destination in the policy like deferring quiet hours; /unmute and /flush drain it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from ...const import DOMAIN
from ...pipeline.log import current_dispatch_id
from ...pipeline.models import DeliveryResult, Notification
from ...runtime import BridgeHub, SourceRuntime
from ...targets.telegram.commands import (
    MAX_LATEST,
    DeliveredNotification,
    DestinationStatus,
    StatusReport,
)


class DeliveredLog:
    """The last notifications delivered to each destination of one bot."""

    def __init__(self, size: int = MAX_LATEST) -> None:
        """Keep at most `size` per destination."""
        self._size = size
        self._by_destination: dict[str, deque[DeliveredNotification]] = {}

    def record(
        self, destination_id: str, notification: Notification, result: DeliveryResult
    ) -> None:
        """Remember a delivery that put something into the chat."""
        if not result.messages_sent:
            return
        items = self._by_destination.setdefault(
            destination_id, deque(maxlen=self._size)
        )
        items.append(
            DeliveredNotification(
                dispatch_id=current_dispatch_id.get() or "",
                title=notification.title,
                message=notification.message,
                delivered_at=dt_util.utcnow(),
            )
        )

    def latest(self, destination_id: str, limit: int) -> list[DeliveredNotification]:
        """Return up to `limit` deliveries, newest first."""
        items = self._by_destination.get(destination_id, ())
        return list(reversed(items))[:limit]


class HubBridgeStatus:
    """Implements the built-ins' `BridgeStatus` Protocol over the hub."""

    def __init__(
        self,
        hass: HomeAssistant,
        hub: BridgeHub,
        log: DeliveredLog,
        save_mute: Callable[[str, datetime | None], Awaitable[None]],
    ) -> None:
        """Answer from the hub and this bot's delivery log; mutes are saved."""
        self._hass = hass
        self._hub = hub
        self._log = log
        self._save_mute = save_mute

    async def async_status(self, destination_ids: Sequence[str]) -> StatusReport:
        """Return backlog and failures of these destinations, and failing sources."""
        policy = self._hub.policy
        destinations = []
        for dest_id in destination_ids:
            runtime = self._hub.destinations.get(dest_id)
            if runtime is None:
                continue
            destinations.append(
                DestinationStatus(
                    destination_id=dest_id,
                    name=runtime.destination.name,
                    backlog=policy.backlog(dest_id),
                    failed=runtime.failed_deliveries,
                    muted_until=policy.muted_until(dest_id),
                )
            )
        problems = sorted(
            entry.title
            for entry in self._hass.config_entries.async_loaded_entries(DOMAIN)
            if isinstance(entry.runtime_data, SourceRuntime)
            and entry.runtime_data.problem
        )
        return StatusReport(destinations=destinations, source_problems=problems)

    async def async_latest(
        self, destination_id: str, limit: int
    ) -> Sequence[DeliveredNotification]:
        """Return up to `limit` notifications delivered there, newest first."""
        return self._log.latest(destination_id, limit)

    async def async_mute(self, destination_id: str, until: datetime) -> None:
        """Hold the destination's notifications until then."""
        self._hub.policy.set_muted_until(destination_id, until)
        await self._save_mute(destination_id, until)

    async def async_unmute(self, destination_id: str) -> int:
        """Stop holding; what was held goes out (as digests where routes ask)."""
        self._hub.policy.set_muted_until(destination_id, None)
        await self._save_mute(destination_id, None)
        return await self._hub.pipeline.async_flush_waiting([destination_id])

    async def async_flush(self, destination_id: str) -> int:
        """Deliver what is held now (mute and quiet hours notwithstanding)."""
        return await self._hub.pipeline.async_flush_waiting(
            [destination_id], force=True
        )
