"""Delivery policy through Home Assistant: quiet hours, digests, restart, backlog."""

from __future__ import annotations

from datetime import datetime, timedelta
import logging

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)

from custom_components.notify_bridge.const import DOMAIN
from custom_components.notify_bridge.hub import NotifyBridgeHub
from custom_components.notify_bridge.runtime import DATA_HUB

from .conftest import DEMO_EVENT, destination, route

PHONE = "notify.phone"
NIGHT = {"quiet_start": "22:00:00", "quiet_end": "07:00:00", "quiet_mode": "defer"}


def local(hour: int, minute: int = 0, day: int = 6) -> datetime:
    """2025-01-<day> at hour:minute in Home Assistant's time zone."""
    return datetime(2025, 1, day, hour, minute, tzinfo=dt_util.get_default_time_zone())


@pytest.fixture
def destinations() -> list:
    """A phone (legacy notify service) with quiet hours at night."""
    return [
        destination(
            "dest_phone",
            "Phone",
            {"delivery": "notify_service", "notify_service": "phone", **NIGHT},
            "notify_service:phone",
        )
    ]


@pytest.fixture
def routes() -> list:
    """The demo event to the phone; digest unless a test says otherwise."""
    return [
        route(
            "route_demo",
            "Doorbell",
            {
                "event_type": DEMO_EVENT,
                "destinations": [PHONE],
                "template": "{{ data.message }}",
                "digest": True,
            },
        )
    ]


@pytest.fixture
async def at_night(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    """Start at 23:00 local time."""
    freezer.move_to(local(23))


async def fire(hass: HomeAssistant, count: int) -> None:
    """Fire the demo event `count` times and let every dispatch finish."""
    for index in range(count):
        hass.bus.async_fire(DEMO_EVENT, {"message": f"ring {index}"})
    await hass.async_block_till_done()


async def advance(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, to: datetime
) -> None:
    """Move the clock to `to` and fire every pending timer (the periodic check
    decides by the clock what is due)."""
    freezer.move_to(to)
    async_fire_time_changed(hass, to, fire_all=True)
    await hass.async_block_till_done(wait_background_tasks=True)


async def test_defer_at_night_digest_in_the_morning(
    hass: HomeAssistant,
    at_night: None,
    legacy_notify_calls: list[ServiceCall],
    freezer: FrozenDateTimeFactory,
    setup_integration: None,
) -> None:
    """Night rings wait (backlog 3), then arrive as one digest when quiet hours end."""
    await fire(hass, 3)
    assert legacy_notify_calls == []
    assert hass.states.get("sensor.phone_backlog").state == "3"

    await advance(hass, freezer, local(6, 59, day=7))
    assert legacy_notify_calls == []
    await advance(hass, freezer, local(7, 1, day=7))
    [call] = legacy_notify_calls
    assert call.data["title"] == "Doorbell"
    assert call.data["message"].startswith("While you were away: 3 notifications")
    assert call.data["message"].endswith("ring 0\n\nring 1\n\nring 2")
    assert hass.states.get("sensor.phone_backlog").state == "0"


async def test_send_can_skip_quiet_hours_and_flush_delivers_now(
    hass: HomeAssistant,
    at_night: None,
    legacy_notify_calls: list[ServiceCall],
    setup_integration: None,
) -> None:
    """respect_quiet_hours: false sends at once; flush_deferred empties the backlog."""
    response = await hass.services.async_call(
        DOMAIN,
        "send",
        {"entity_id": PHONE, "message": "held"},
        blocking=True,
        return_response=True,
    )
    assert response["summary"]["results"][0]["deferred"] is True
    await hass.services.async_call(
        DOMAIN,
        "send",
        {"entity_id": PHONE, "message": "urgent", "respect_quiet_hours": False},
        blocking=True,
    )
    assert [c.data["message"] for c in legacy_notify_calls] == ["urgent"]

    flushed = await hass.services.async_call(
        DOMAIN,
        "flush_deferred",
        {"entity_id": PHONE},
        blocking=True,
        return_response=True,
    )
    assert flushed == {"delivered": 1}
    assert [c.data["message"] for c in legacy_notify_calls] == ["urgent", "held"]


@pytest.mark.parametrize(
    ("destinations", "routes"),
    [
        (
            [
                destination(
                    "dest_phone",
                    "Phone",
                    {
                        "delivery": "notify_service",
                        "notify_service": "phone",
                        "max_pending": 2000,
                        **NIGHT,
                    },
                    "notify_service:phone",
                )
            ],
            [
                route(
                    "route_demo",
                    "Doorbell",
                    {
                        "event_type": DEMO_EVENT,
                        "destinations": [PHONE],
                        "template": "{{ data.message }}",
                        "digest": False,
                    },
                )
            ],
        )
    ],
)
async def test_restart_with_1000_deferred_delivers_each_once(
    hass: HomeAssistant,
    at_night: None,
    legacy_notify_calls: list[ServiceCall],
    freezer: FrozenDateTimeFactory,
    setup_integration: None,
    target_entry: MockConfigEntry,
    source_entry: MockConfigEntry,
) -> None:
    """1,000 held notifications survive a restart and go out once each, in order."""
    await fire(hass, 1000)
    assert await hass.config_entries.async_unload(source_entry.entry_id)
    assert await hass.config_entries.async_unload(target_entry.entry_id)

    # A new hub reads only what the old one stored, as after a restart.
    hub = NotifyBridgeHub(hass)
    await hub.async_load()
    hass.data[DATA_HUB] = hub
    assert hub.policy.backlog("dest_phone") == 1000

    freezer.move_to(local(8, day=7))
    assert await hass.config_entries.async_setup(target_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    messages = [call.data["message"] for call in legacy_notify_calls]
    assert messages == [f"ring {index}" for index in range(1000)]
    await advance(hass, freezer, local(9, day=7))
    assert len(legacy_notify_calls) == 1000


async def test_backlog_repair_issue_lifecycle(
    hass: HomeAssistant,
    at_night: None,
    legacy_notify_calls: list[ServiceCall],
    setup_integration: None,
) -> None:
    """Over 100 waiting raises a repair issue; flushing clears it."""
    registry = ir.async_get(hass)
    await fire(hass, 100)
    assert registry.async_get_issue(DOMAIN, "backlog_dest_phone") is None
    await fire(hass, 1)
    issue = registry.async_get_issue(DOMAIN, "backlog_dest_phone")
    assert issue is not None
    assert issue.translation_key == "backlog_high"
    await hass.services.async_call(DOMAIN, "flush_deferred", {}, blocking=True)
    assert registry.async_get_issue(DOMAIN, "backlog_dest_phone") is None


@pytest.mark.parametrize(
    "destinations",
    [
        [
            destination(
                "dest_phone",
                "Phone",
                {
                    "delivery": "notify_service",
                    "notify_service": "phone",
                    "quiet_start": "08:00:00",
                    "quiet_end": "08:00:00",
                },
                "notify_service:phone",
            )
        ]
    ],
)
async def test_stored_empty_quiet_hours_raise_a_repair(
    hass: HomeAssistant,
    at_night: None,
    legacy_notify_calls: list[ServiceCall],
    setup_integration: None,
    target_entry: MockConfigEntry,
) -> None:
    """start == end in stored config is reported, and delivery is not held."""
    registry = ir.async_get(hass)
    assert registry.async_get_issue(DOMAIN, "quiet_hours_empty_dest_phone") is not None
    await fire(hass, 1)
    assert len(legacy_notify_calls) == 1

    hass.config_entries.async_update_subentry(
        target_entry,
        target_entry.subentries["dest_phone"],
        data={"delivery": "notify_service", "notify_service": "phone"},
    )
    await hass.async_block_till_done()
    assert registry.async_get_issue(DOMAIN, "quiet_hours_empty_dest_phone") is None


async def test_destination_failing_repair_clears_on_success(
    hass: HomeAssistant, setup_integration: None, caplog: pytest.LogCaptureFixture
) -> None:
    """Three failed rounds raise an issue; the outbox delivering clears it at once,
    and the notifications kept meanwhile arrive in order. The outage is logged
    once (a warning) and its end once (an info line), whatever the retries."""
    calls: list[ServiceCall] = []
    outage = {"down": True}

    async def phone(call: ServiceCall) -> None:
        if outage["down"]:
            raise ValueError("offline")
        calls.append(call)

    hass.services.async_register("notify", "phone", phone)
    registry = ir.async_get(hass)
    for text in ("first", "second"):
        await hass.services.async_call(
            DOMAIN,
            "send",
            {"entity_id": PHONE, "message": text, "respect_quiet_hours": False},
            blocking=True,
        )
    # One failed send, then two failed retry rounds of the outbox.
    for _ in range(2):
        await hass.services.async_call(DOMAIN, "flush_deferred", {}, blocking=True)
    issue = registry.async_get_issue(DOMAIN, "destination_failing_dest_phone")
    assert issue is not None
    assert issue.translation_placeholders["error"] == "notify.phone failed: offline"
    assert hass.states.get("sensor.phone_failed_deliveries").state == "3"

    outage["down"] = False
    dispatched = async_capture_events(hass, "notify_bridge_dispatched")
    await hass.services.async_call(DOMAIN, "flush_deferred", {}, blocking=True)
    assert registry.async_get_issue(DOMAIN, "destination_failing_dest_phone") is None
    assert [c.data["message"] for c in calls] == ["first", "second"]
    assert hass.states.get("sensor.phone_last_delivery").state != "unknown"
    assert [e.data["status"] for e in dispatched] == ["ok"]
    about_phone = [
        (r.levelname, r.getMessage())
        for r in caplog.records
        if r.levelno >= logging.INFO and "Phone" in r.getMessage()
    ]
    assert [level for level, _ in about_phone] == ["WARNING", "INFO"]
    assert "works again after 3 failure(s)" in about_phone[1][1]


async def test_waiting_check_runs_periodically(
    hass: HomeAssistant,
    at_night: None,
    legacy_notify_calls: list[ServiceCall],
    freezer: FrozenDateTimeFactory,
    setup_integration: None,
) -> None:
    """The periodic check holds everything while quiet hours last, and alone (no
    flush, no new event) delivers once they end."""
    await fire(hass, 2)
    await advance(hass, freezer, local(23, 30))
    await advance(hass, freezer, local(23, 30) + timedelta(hours=2))
    assert legacy_notify_calls == []
    await advance(hass, freezer, local(7, 0, day=7) + timedelta(seconds=31))
    assert len(legacy_notify_calls) == 1


@pytest.mark.parametrize(
    "routes",
    [
        [
            route(
                "route_demo",
                "Doorbell",
                {
                    "event_type": DEMO_EVENT,
                    "destinations": [PHONE],
                    "template": "{{ data.message }} ({{ coalesced.count }} rings)",
                    "coalesce_seconds": 60,
                },
            )
        ]
    ],
)
async def test_burst_is_coalesced_into_one_notification(
    hass: HomeAssistant,
    legacy_notify_calls: list[ServiceCall],
    freezer: FrozenDateTimeFactory,
    setup_integration: None,
) -> None:
    """Five rings of one doorbell within the window become one notification."""
    freezer.move_to(local(12))
    for index in range(5):
        hass.bus.async_fire(
            DEMO_EVENT, {"message": f"ring {index}", "entity_id": "event.door"}
        )
    await hass.async_block_till_done()
    assert legacy_notify_calls == []
    # Precise here (no fire_all): only timers due by then fire, so the window counts.
    async_fire_time_changed(hass, local(12) + timedelta(seconds=50))
    await hass.async_block_till_done()
    assert legacy_notify_calls == []
    async_fire_time_changed(hass, local(12, 1) + timedelta(seconds=1))
    await hass.async_block_till_done()
    assert [c.data["message"] for c in legacy_notify_calls] == ["ring 4 (5 rings)"]


async def test_test_button_ignores_quiet_hours_and_deferral_is_no_delivery(
    hass: HomeAssistant,
    at_night: None,
    legacy_notify_calls: list[ServiceCall],
    setup_integration: None,
) -> None:
    """A test pressed at night arrives now; a deferred message is no delivery."""
    await fire(hass, 1)
    assert hass.states.get("sensor.phone_last_delivery").state == "unknown"
    await hass.services.async_call(
        "button", "press", {"entity_id": "button.phone_send_test"}, blocking=True
    )
    assert [c.data["message"] for c in legacy_notify_calls] == [
        "Test notification from Notify Bridge."
    ]
    assert hass.states.get("sensor.phone_last_delivery").state != "unknown"


async def test_removed_destination_leaves_no_backlog_or_issue(
    hass: HomeAssistant,
    at_night: None,
    legacy_notify_calls: list[ServiceCall],
    setup_integration: None,
    target_entry: MockConfigEntry,
) -> None:
    """Removing a destination drops what waited for it and its repair issues."""
    await fire(hass, 101)
    hub = hass.data[DATA_HUB]
    registry = ir.async_get(hass)
    assert registry.async_get_issue(DOMAIN, "backlog_dest_phone") is not None
    hass.config_entries.async_remove_subentry(target_entry, "dest_phone")
    await hass.async_block_till_done()
    assert hub.policy.backlog("dest_phone") == 0
    assert registry.async_get_issue(DOMAIN, "backlog_dest_phone") is None


@pytest.mark.parametrize(
    "routes",
    [
        [
            route(
                "route_states",
                "Any state change",
                {
                    "event_type": "state_changed",
                    "destinations": [PHONE],
                    "template": "{{ data.entity_id }}",
                },
            )
        ]
    ],
)
async def test_state_changed_route_does_not_feed_on_itself(
    hass: HomeAssistant,
    legacy_notify_calls: list[ServiceCall],
    freezer: FrozenDateTimeFactory,
    setup_integration: None,
) -> None:
    """Our own sensors change on every delivery; routing those would never end."""
    freezer.move_to(local(12))
    hass.states.async_set("light.kitchen", "on")
    await hass.async_block_till_done()
    assert [c.data["message"] for c in legacy_notify_calls] == ["light.kitchen"]


async def test_events_while_the_target_is_not_loaded_wait_for_it(
    hass: HomeAssistant,
    legacy_notify_calls: list[ServiceCall],
    freezer: FrozenDateTimeFactory,
    setup_integration: None,
    target_entry: MockConfigEntry,
) -> None:
    """A target still starting (or reloading) loses nothing: delivered once loaded."""
    freezer.move_to(local(12))
    assert await hass.config_entries.async_unload(target_entry.entry_id)
    await fire(hass, 2)
    assert legacy_notify_calls == []
    assert hass.data[DATA_HUB].policy.backlog("dest_phone") == 2
    assert await hass.config_entries.async_setup(target_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert [c.data["message"] for c in legacy_notify_calls] == ["ring 0", "ring 1"]


async def test_quiet_hours_form_section_round_trip(
    hass: HomeAssistant, target_entry: MockConfigEntry
) -> None:
    """The edit form shows stored quiet hours inside their collapsed section; a
    wrong value elsewhere shows the form again with the section as typed; the
    saved data is flat, as the delivery policy reads it."""
    hass.services.async_register("notify", "phone", lambda call: None)
    result = await target_entry.start_subentry_reconfigure_flow(hass, "dest_phone")
    quiet = next(
        v for k, v in result["data_schema"].schema.items() if k == "quiet_hours"
    )
    assert quiet.options == {"collapsed": True}
    shown = {str(k): k.description for k in quiet.schema.schema}
    assert shown["quiet_start"] == {"suggested_value": "22:00:00"}
    typed = {"quiet_start": "21:00:00", "quiet_end": "06:00:00", "quiet_mode": "silent"}
    form = {"name": "Phone", "delivery": "notify_service", "quiet_hours": typed}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**form, "notify_service": "missing"}
    )
    assert result["errors"] == {"notify_service": "service_not_found"}
    quiet = next(
        v for k, v in result["data_schema"].schema.items() if k == "quiet_hours"
    )
    shown = {str(k): k.description for k in quiet.schema.schema}
    assert shown["quiet_start"] == {"suggested_value": "21:00:00"}
    assert shown["quiet_mode"] == {"suggested_value": "silent"}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**form, "notify_service": "phone"}
    )
    assert result.get("errors") is None, result.get("errors")
    assert result["reason"] == "reconfigure_successful"
    data = target_entry.subentries["dest_phone"].data
    assert (data["quiet_start"], data["quiet_mode"]) == ("21:00:00", "silent")
    assert "quiet_hours" not in data
