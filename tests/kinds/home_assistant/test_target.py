"""The home_assistant target delivering to a real notify entity and legacy services."""

from __future__ import annotations

from homeassistant.components.notify import DATA_COMPONENT, NotifyEntity
from homeassistant.core import HomeAssistant
import pytest

from custom_components.notify_bridge.const import DOMAIN
from tests.conftest import DEMO_DESTINATION_ID, destination, route


class RecordingNotifyEntity(NotifyEntity):
    """A notify entity of another integration that records what it is sent."""

    _attr_name = "Kitchen speaker"
    _attr_unique_id = "kitchen_speaker"

    def __init__(self) -> None:
        """Start with nothing sent."""
        self.sent: list[tuple[str, str | None]] = []

    async def async_send_message(self, message: str, title: str | None = None) -> None:
        """Record the message."""
        self.sent.append((message, title))


@pytest.fixture
def destinations() -> list:
    """A notify-entity destination, and one whose legacy service was removed."""
    return [
        destination(
            DEMO_DESTINATION_ID,
            "Demo notifications",
            {"delivery": "persistent_notification"},
        ),
        destination(
            "dest_kitchen",
            "Kitchen",
            {"delivery": "notify_entity", "notify_entity": "notify.kitchen_speaker"},
            "notify_entity:notify.kitchen_speaker",
        ),
        destination(
            "dest_gone",
            "Gone",
            {"delivery": "notify_service", "notify_service": "uninstalled"},
            "notify_service:uninstalled",
        ),
    ]


async def send(hass: HomeAssistant, entity_id: str) -> dict:
    """Send "hello" and return the response."""
    return await hass.services.async_call(
        DOMAIN,
        "send",
        {"entity_id": entity_id, "message": "hello", "title": "t"},
        blocking=True,
        return_response=True,
    )


async def test_delivers_to_notify_entity(
    hass: HomeAssistant, setup_integration: None
) -> None:
    """A notify entity of another integration receives message and title."""
    speaker = RecordingNotifyEntity()
    await hass.data[DATA_COMPONENT].async_add_entities([speaker])
    response = await send(hass, "notify.kitchen")
    assert response["status"] == "ok"
    assert speaker.sent == [("hello", "t")]


async def test_missing_notify_entity_is_a_failure(
    hass: HomeAssistant, setup_integration: None
) -> None:
    """notify.send_message ignores unknown entities; we report the failure instead."""
    response = await send(hass, "notify.kitchen")
    assert response["status"] == "fail"
    assert response["summary"]["errors"] == [
        "Kitchen: notify.kitchen_speaker does not exist"
    ]


async def test_missing_legacy_service_is_a_failure(
    hass: HomeAssistant, setup_integration: None
) -> None:
    """A legacy notify service that no longer exists fails with a clear error."""
    response = await send(hass, "notify.gone")
    assert response["status"] == "fail"
    assert response["summary"]["errors"] == ["Gone: notify.uninstalled does not exist"]


@pytest.mark.parametrize(
    "routes",
    [
        [
            route(
                "route_states",
                "Any state change",
                {
                    "event_type": "state_changed",
                    "destinations": ["notify.kitchen"],
                    "template": "{{ data.entity_id }}",
                },
            )
        ]
    ],
)
async def test_state_changes_caused_by_a_delivery_are_not_routed(
    hass: HomeAssistant, setup_integration: None
) -> None:
    """Delivering to a notify entity changes its state; that change is not news."""
    speaker = RecordingNotifyEntity()
    await hass.data[DATA_COMPONENT].async_add_entities([speaker])
    await hass.async_block_till_done()
    speaker.sent.clear()  # the speaker's own appearance was a state change too
    hass.states.async_set("light.hall", "on")
    await hass.async_block_till_done()
    assert speaker.sent == [("light.hall", None)]
