"""Actions: send (response, partial failure, validation) and preview_template."""

from __future__ import annotations

import asyncio
import time

from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import async_capture_events
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from custom_components.notify_bridge.const import DOMAIN, EVENT_DISPATCHED

from .conftest import DEMO_DESTINATION_ID, DEMO_ENTITY, destination

PHONE_ENTITY = "notify.phone"
BROKEN_ENTITY = "notify.broken_phone"
VOLATILE = props("dispatch_id", "started_at", "duration_ms")


@pytest.fixture
def destinations() -> list:
    """The demo sidebar, a working phone and a phone whose service fails."""
    return [
        destination(
            DEMO_DESTINATION_ID,
            "Demo notifications",
            {"delivery": "persistent_notification"},
        ),
        destination(
            "dest_phone",
            "Phone",
            {"delivery": "notify_service", "notify_service": "phone"},
            "notify_service:phone",
        ),
        destination(
            "dest_broken",
            "Broken phone",
            {"delivery": "notify_service", "notify_service": "broken"},
            "notify_service:broken",
        ),
    ]


@pytest.fixture(autouse=True)
def broken_service(hass: HomeAssistant) -> None:
    """A legacy notify service that always fails."""

    async def fail(call: ServiceCall) -> None:
        raise HomeAssistantError("phone is offline")

    hass.services.async_register("notify", "broken", fail)


async def send(hass: HomeAssistant, **data) -> dict:
    """Call notify_bridge.send and return its response."""
    return await hass.services.async_call(
        DOMAIN, "send", data, blocking=True, return_response=True
    )


async def test_send_response(
    hass: HomeAssistant,
    setup_integration: None,
    legacy_notify_calls: list[ServiceCall],
    snapshot: SnapshotAssertion,
) -> None:
    """send delivers and answers with the dispatch id, status and summary."""
    response = await send(
        hass, entity_id=[DEMO_ENTITY, PHONE_ENTITY], message="Hello", title="Hi"
    )
    assert response == snapshot(exclude=VOLATILE)
    assert len(response["dispatch_id"]) == 12
    assert response["summary"]["dispatch_id"] == response["dispatch_id"]
    assert [call.data["message"] for call in legacy_notify_calls] == ["Hello"]
    assert legacy_notify_calls[0].data["title"] == "Hi"


async def test_one_failing_destination_is_partial(
    hass: HomeAssistant, setup_integration: None, legacy_notify_calls: list
) -> None:
    """One working destination and one kept in the outbox: queued, error kept."""
    events = async_capture_events(hass, EVENT_DISPATCHED)
    response = await send(hass, entity_id=[PHONE_ENTITY, BROKEN_ENTITY], message="x")
    # Nothing failed for good: the rest waits in the outbox and will arrive.
    assert response["status"] == "queued"
    await hass.async_block_till_done()
    assert [event.data["status"] for event in events] == ["queued"]
    assert response["summary"]["delivered"] == 1
    assert response["summary"]["failed"] == 1
    # A failing service may recover: retried, then kept in the outbox, in order.
    assert response["summary"]["errors"] == [
        "Broken phone: notify.broken failed: phone is offline (queued for retry)"
    ]
    assert response["summary"]["results"][1]["attempts"] == 3
    assert hass.states.get("sensor.broken_phone_failed_deliveries").state == "1"
    assert hass.states.get("sensor.phone_failed_deliveries").state == "0"
    assert hass.states.get("sensor.phone_last_delivery").state != "unknown"


async def test_total_failure_raises_without_response(
    hass: HomeAssistant, setup_integration: None
) -> None:
    """An automation that does not read the response still sees a lost message;
    one kept in the outbox for a retry is not an error."""
    await hass.services.async_call(
        DOMAIN, "send", {"entity_id": BROKEN_ENTITY, "message": "x"}, blocking=True
    )
    assert hass.states.get("sensor.broken_phone_backlog").state == "1"

    hass.services.async_remove("notify", "phone")  # gone for good: permanent
    with pytest.raises(HomeAssistantError, match="does not exist") as err:
        await hass.services.async_call(
            DOMAIN, "send", {"entity_id": PHONE_ENTITY, "message": "x"}, blocking=True
        )
    assert err.value.translation_key == "delivery_failed"


async def test_send_refuses_foreign_entities(
    hass: HomeAssistant, setup_integration: None
) -> None:
    """Only this integration's destinations are accepted."""
    hass.states.async_set("notify.other", "unknown")
    with pytest.raises(ServiceValidationError) as err:
        await send(hass, entity_id=["notify.other", DEMO_ENTITY], message="x")
    assert err.value.translation_key == "not_a_destination"
    assert err.value.translation_placeholders == {"entity_ids": "notify.other"}


async def test_send_counts_media_the_destination_cannot_show(
    hass: HomeAssistant, setup_integration: None
) -> None:
    """Home Assistant notifications carry text only; media is reported as skipped."""
    response = await send(
        hass,
        entity_id=DEMO_ENTITY,
        message="photo",
        media=[{"url": "https://example.com/a.jpg", "type": "photo"}],
    )
    assert response["summary"]["results"][0]["media_skipped"] == 1


async def test_notify_entity_and_button(
    hass: HomeAssistant, setup_integration: None, legacy_notify_calls: list
) -> None:
    """notify.send_message and the test button both go through the pipeline."""
    await hass.services.async_call(
        "notify",
        "send_message",
        {"entity_id": PHONE_ENTITY, "message": "plain"},
        blocking=True,
    )
    await hass.services.async_call(
        "button", "press", {"entity_id": "button.phone_send_test"}, blocking=True
    )
    assert [call.data["message"] for call in legacy_notify_calls] == [
        "plain",
        "Test notification from Notify Bridge.",
    ]
    # A failing service keeps the test message for a retry, and the press says it
    # failed (translated); a removed one fails.
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            "button",
            "press",
            {"entity_id": "button.broken_phone_send_test"},
            blocking=True,
        )
    assert err.value.translation_key == "send_test_failed"
    assert hass.states.get("sensor.broken_phone_backlog").state == "1"
    hass.services.async_remove("notify", "phone")
    with pytest.raises(HomeAssistantError, match="does not exist"):
        await hass.services.async_call(
            "button", "press", {"entity_id": "button.phone_send_test"}, blocking=True
        )


async def preview(hass: HomeAssistant, **data) -> dict:
    """Call notify_bridge.preview_template and return its response."""
    return await hass.services.async_call(
        DOMAIN, "preview_template", data, blocking=True, return_response=True
    )


async def test_preview_matches_delivery(
    hass: HomeAssistant, setup_integration: None
) -> None:
    """Preview for a destination renders exactly what delivery shows, escaping included."""
    context = {"data": {"message": "<b>5 * 3</b> [link]"}}
    shown = await preview(
        hass,
        template="{{ data.message | default('Demo event received') }}",
        context=context,
        entity_id=DEMO_ENTITY,
    )
    hass.bus.async_fire("notify_bridge_demo", context["data"])
    await hass.async_block_till_done()
    delivered = [n["message"] for n in hass.data["persistent_notification"].values()]
    assert delivered == [shown["text"]]
    assert shown["format"] == "markdown"
    assert shown["text"] == r"\<b\>5 \* 3\</b\> \[link\]"


async def test_preview_html_escapes_values_not_markup(
    hass: HomeAssistant, setup_integration: None
) -> None:
    """HTML output escapes values and keeps the template's own markup."""
    shown = await preview(
        hass,
        template="<b>{{ data.name }}</b> {{ data.raw | safe }}",
        context={"data": {"name": "<script>x</script>", "raw": "<i>ok</i>"}},
        format="html",
    )
    assert shown["text"] == "<b>&lt;script&gt;x&lt;/script&gt;</b> <i>ok</i>"


async def test_preview_uses_sample_context(
    hass: HomeAssistant, setup_integration: None
) -> None:
    """Without a context the sample event is used, so a template can be tried at once."""
    shown = await preview(hass, template="{{ event.type }}: {{ data.message }}")
    assert shown == {
        "text": "notify_bridge_demo: Hello from Notify Bridge",
        "format": "plain",
    }


@pytest.mark.parametrize(
    ("template", "error"),
    [
        ("{% for x %}", "syntax error"),
        ("{{ ''.__class__.__mro__ }}", "unsafe"),
        ("{{ cycler.__init__.__globals__ }}", "unsafe"),
        ("{{ 'x' * 10**9 }}", "would exceed"),
    ],
)
async def test_preview_refuses_bad_templates(
    hass: HomeAssistant, setup_integration: None, template: str, error: str
) -> None:
    """Broken and hostile templates end in a translated validation error."""
    with pytest.raises(ServiceValidationError, match=error) as err:
        await preview(hass, template=template)
    assert err.value.translation_key == "invalid_template"


async def test_runaway_template_ends_within_budget(
    hass: HomeAssistant, setup_integration: None
) -> None:
    """A huge loop ends with a clear error within the budget; HA stays responsive."""
    gaps: list[float] = []
    stop = asyncio.Event()

    async def heartbeat() -> None:
        last = time.monotonic()
        while not stop.is_set():
            await asyncio.sleep(0.02)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    beat = asyncio.create_task(heartbeat())
    started = time.monotonic()
    with pytest.raises(ServiceValidationError, match="time budget"):
        await preview(
            hass,
            template="{% for i in range(10**9) %}{% for j in range(10) %}{% endfor %}{% endfor %}",
        )
    elapsed = time.monotonic() - started
    stop.set()
    await beat
    assert 0.9 < elapsed < 2.0
    assert len(gaps) > 20
    assert max(gaps) < 0.25


async def test_preview_refuses_foreign_entity(
    hass: HomeAssistant, setup_integration: None
) -> None:
    """Preview for a destination needs a real destination."""
    with pytest.raises(ServiceValidationError):
        await preview(hass, template="x", entity_id="notify.other")
