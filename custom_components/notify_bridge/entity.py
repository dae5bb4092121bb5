"""Base entities: one device per destination subentry or source entry."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import cast

from homeassistant.core import callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import DOMAIN, SIGNAL_DESTINATION_UPDATED, SIGNAL_SOURCE_UPDATED
from .hub import DATA_HUB, DestinationRuntime, NotifyBridgeConfigEntry, TargetRuntime
from .pipeline.models import DispatchSummary, Notification, OutputFormat


def raise_if_lost(summary: DispatchSummary) -> None:
    """Raise a translated error when a destination failed without a later retry."""
    if summary.lost:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="delivery_failed",
            translation_placeholders={
                "dispatch_id": summary.dispatch_id,
                "errors": "; ".join(summary.errors),
            },
        )


@callback
def add_destination_entities(
    entry: NotifyBridgeConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    build: Callable[[DestinationRuntime], Iterable[Entity]],
) -> None:
    """Add each destination's entities to its own subentry (and so its device)."""
    # Only target entries forward the platforms that call this.
    runtime = cast(TargetRuntime, entry.runtime_data)
    for subentry_id, destination in runtime.destinations.items():
        async_add_entities(list(build(destination)), config_subentry_id=subentry_id)


class DestinationEntity(Entity):
    """An entity of one destination; unique ids derive from the subentry id."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, runtime: DestinationRuntime, key: str | None) -> None:
        """Attach to the destination's device."""
        self.runtime = runtime
        dest = runtime.destination
        self._attr_unique_id = (
            dest.destination_id if key is None else f"{dest.destination_id}_{key}"
        )
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, dest.destination_id)},
            name=dest.name,
            manufacturer="Notify Bridge",
            model="Destination",
            entry_type=DeviceEntryType.SERVICE,
        )

    async def async_added_to_hass(self) -> None:
        """Refresh when a dispatch touched this destination."""
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass,
                SIGNAL_DESTINATION_UPDATED.format(
                    self.runtime.destination.destination_id
                ),
                self.async_write_ha_state,
            )
        )

    async def async_send_text(
        self, message: str, title: str | None, *, respect_quiet_hours: bool = True
    ) -> None:
        """Deliver text to this destination; a failure is an error the caller sees
        (held by quiet hours or kept in the outbox for a retry is not a failure)."""
        pipeline = self.hass.data[DATA_HUB].pipeline
        summary = await pipeline.async_send(
            [self.runtime.destination.destination_id],
            # notify.send_message text is plain text, never markup.
            lambda _dest: Notification(
                message=message, title=title, output_format=OutputFormat.PLAIN
            ),
            respect_quiet_hours=respect_quiet_hours,
        )
        raise_if_lost(summary)


class SourceEntity(Entity):
    """An entity of one source entry."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, entry: NotifyBridgeConfigEntry, key: str) -> None:
        """Attach to the source's device."""
        self.entry = entry
        self._attr_unique_id = f"{entry.entry_id}_{key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, entry.entry_id)},
            name=entry.title,
            manufacturer="Notify Bridge",
            model="Source",
            entry_type=DeviceEntryType.SERVICE,
        )

    async def async_added_to_hass(self) -> None:
        """Refresh when the source produced an event."""
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass,
                SIGNAL_SOURCE_UPDATED.format(self.entry.entry_id),
                self.async_write_ha_state,
            )
        )
