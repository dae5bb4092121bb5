"""The Telegram bot's own entities: an event entity per chat for what it receives."""

from __future__ import annotations

from collections.abc import Iterator

from homeassistant.components.event import EventEntity
from homeassistant.const import Platform
from homeassistant.core import callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity import Entity

from ...const import SIGNAL_DESTINATION_INBOUND
from ...runtime import EntityFactory
from ...targets.telegram.inbound import InboundEvent, InboundKind
from ..shared.entities import DestinationEntity, subentry_device, target_entities
from .bot_entities import bot_entities
from .inbound import INBOUND_ENTITY_KEY
from .setup import TelegramConfigEntry

DEVICE_MODEL = "Chat"


class ChatEventEntity(DestinationEntity, EventEntity):
    """Fires for each command, text or button press from this chat."""

    _attr_translation_key = "chat_inbound"
    _attr_event_types = tuple(kind.value for kind in InboundKind)  # type: ignore[assignment]

    async def async_added_to_hass(self) -> None:
        """Fire when the bot receives something from this destination."""
        await super().async_added_to_hass()
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass,
                SIGNAL_DESTINATION_INBOUND.format(
                    self.runtime.destination.destination_id
                ),
                self._async_received,
            )
        )

    @callback
    def _async_received(self, event: InboundEvent) -> None:
        attributes = event.as_dict()
        del attributes["kind"]  # the event type says it
        self._trigger_event(event.kind.value, attributes)
        self.async_write_ha_state()


def _chat_events(entry: TelegramConfigEntry) -> Iterator[tuple[str | None, Entity]]:
    for subentry_id, runtime in entry.runtime_data.destinations.items():
        device = subentry_device(
            entry, subentry_id, runtime.destination.name, DEVICE_MODEL
        )
        yield subentry_id, ChatEventEntity(runtime, INBOUND_ENTITY_KEY, device)


def telegram_entities() -> dict[Platform, EntityFactory]:
    """Return the target entities of every chat plus its event entity."""
    return {
        **target_entities(DEVICE_MODEL),
        Platform.EVENT: _chat_events,
        # The bot's own "delivery problem" sensor, on the entry's device.
        Platform.BINARY_SENSOR: bot_entities,
    }
