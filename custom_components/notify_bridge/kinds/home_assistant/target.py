"""The home_assistant target: deliver through Home Assistant's own notification layer."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from homeassistant.components import persistent_notification
from homeassistant.components.notify import (
    ATTR_MESSAGE,
    ATTR_TITLE,
    DOMAIN as NOTIFY_DOMAIN,
    SERVICE_SEND_MESSAGE,
)
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import ServiceNotFound

from ...const import (
    CONF_DELIVERY,
    CONF_LANGUAGE,
    CONF_NOTIFY_ENTITY,
    CONF_NOTIFY_SERVICE,
    HaDelivery,
)
from ...pipeline.models import (
    DeliveryError,
    DeliveryResult,
    Notification,
    OutputFormat,
)


def output_format_for(options: Mapping[str, Any]) -> OutputFormat:
    """Return how a destination with these options displays text."""
    if options[CONF_DELIVERY] == HaDelivery.PERSISTENT_NOTIFICATION:
        return OutputFormat.MARKDOWN
    return OutputFormat.PLAIN


class HomeAssistantDestination:
    """One persistent notification, notify entity or legacy notify service."""

    def __init__(
        self,
        hass: HomeAssistant,
        destination_id: str,
        name: str,
        options: Mapping[str, Any],
        new_context: Callable[[], Context] = Context,
    ) -> None:
        """Read the destination subentry's options; `new_context` marks the calls
        made for a delivery, so sources can tell (and ignore) what they cause."""
        self._hass = hass
        self._new_context = new_context
        self.destination_id = destination_id
        self.name = name
        self._delivery = HaDelivery(options[CONF_DELIVERY])
        self._entity_id: str | None = options.get(CONF_NOTIFY_ENTITY)
        self._service: str | None = options.get(CONF_NOTIFY_SERVICE)
        # The readers' language (None: Home Assistant's), read by the pipeline.
        self.language: str | None = options.get(CONF_LANGUAGE)

    @property
    def output_format(self) -> OutputFormat:
        """Persistent notifications render Markdown; notify services take plain text."""
        return output_format_for({CONF_DELIVERY: self._delivery})

    async def async_deliver(self, notification: Notification) -> DeliveryResult:
        """Hand the notification to Home Assistant."""
        if self._delivery is HaDelivery.PERSISTENT_NOTIFICATION:
            persistent_notification.async_create(
                self._hass, notification.message, notification.title
            )
        else:
            await self._call_notify(notification)
        return DeliveryResult(
            destination_id=self.destination_id,
            destination_name=self.name,
            success=True,
            messages_sent=1,
            # Home Assistant's notify layer carries text only.
            media_skipped=len(notification.media),
        )

    async def _call_notify(self, notification: Notification) -> None:
        data: dict[str, Any] = {ATTR_MESSAGE: notification.message}
        if notification.title:
            data[ATTR_TITLE] = notification.title
        if self._delivery is HaDelivery.NOTIFY_ENTITY:
            # notify.send_message ignores unknown entity ids; that must not pass as sent.
            if self._hass.states.get(str(self._entity_id)) is None:
                raise DeliveryError(f"{self._entity_id} does not exist", permanent=True)
            service = SERVICE_SEND_MESSAGE
            data[ATTR_ENTITY_ID] = self._entity_id
        else:
            service = str(self._service)
        try:
            await self._hass.services.async_call(
                NOTIFY_DOMAIN, service, data, blocking=True, context=self._new_context()
            )
        except ServiceNotFound as err:
            raise DeliveryError(
                f"notify.{service} does not exist", permanent=True
            ) from err
        except Exception as err:  # the other integration failed; it may recover
            raise DeliveryError(f"notify.{service} failed: {err}") from err
