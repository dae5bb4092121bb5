# ruff: noqa: RUF001 -- the digest line uses the multiplication sign on purpose
"""Scheduled digests through Home Assistant: flows, timers, DST, restarts, modes,
the send_digest action and the button (an ha_events route, a recording target)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigSubentryDataWithId
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.notify_bridge.const import DOMAIN
from custom_components.notify_bridge.kinds.shared.digests import DIGEST_STORE_KEY
from custom_components.notify_bridge.pipeline.digest import Digest
from custom_components.notify_bridge.pipeline.summary import Period
from custom_components.notify_bridge.runtime import DATA_HUB, DestinationRuntime
from tests.common import (
    RecordingDestination,
    kind_entry,
    start_subentry_flow,
    typed,
)
from tests.conftest import DEMO_EVENT, DEMO_ROUTE_ID, SOURCE_ENTRY_ID, route

START = datetime(2026, 6, 1, 5, 0, tzinfo=UTC)  # 07:00 in Berlin


def scheduled_route(schedule: dict[str, Any], **options: Any) -> dict[str, Any]:
    """Return the data of an ha_events route with a schedule, to the recorder."""
    return {
        "event_type": DEMO_EVENT,
        "event_data": {},
        "destinations": ["recorder"],
        "template": "{{ data.message }}",
        "schedule": schedule,
        **options,
    }


DAILY_8 = {"kind": "daily", "at": "08:00"}


@pytest.fixture
def route_options() -> dict[str, Any]:
    """Options of the scheduled route; a test parametrizes this to change them."""
    return {}


@pytest.fixture
def routes(route_options: dict[str, Any]) -> list[ConfigSubentryDataWithId]:
    """One scheduled route, daily at 08:00 unless `route_options` says otherwise."""
    options = dict(route_options)
    schedule = options.pop("schedule", DAILY_8)
    return [route(DEMO_ROUTE_ID, "Doors", scheduled_route(schedule, **options))]


@pytest.fixture
async def berlin(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    """Home Assistant in Berlin, at 07:00 local on June 1, 2026."""
    await hass.config.async_set_time_zone("Europe/Berlin")
    freezer.move_to(START)


@pytest.fixture
async def started(
    hass: HomeAssistant, berlin: None, source_entry: MockConfigEntry
) -> RecordingDestination:
    """The integration set up with the scheduled route and the recorder."""
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    recorder = RecordingDestination()
    hass.data[DATA_HUB].register_destination(
        DestinationRuntime(destination=recorder, entry_id="tests")
    )
    return recorder


async def fire(hass: HomeAssistant, *messages: str) -> None:
    for message in messages:
        hass.bus.async_fire(DEMO_EVENT, {"message": message})
    await hass.async_block_till_done()


async def move(hass: HomeAssistant, freezer: FrozenDateTimeFactory, to: datetime):
    freezer.move_to(to)
    async_fire_time_changed(hass, to)
    await hass.async_block_till_done()


def texts(recorder: RecordingDestination) -> list[str]:
    return [n.message for n in recorder.notifications]


# --- flows ---------------------------------------------------------------------------


async def test_flow_stores_a_weekly_schedule_and_edits_it(
    hass: HomeAssistant, started: RecordingDestination, source_entry: MockConfigEntry
) -> None:
    """The schedule section becomes the stored options; the edit form shows it."""
    result = await start_subentry_flow(hass, source_entry)
    form = {
        "name": "Weekly doors",
        "event_type": "door_opened",
        "destinations": ["notify.demo_notifications"],
        "template": "{{ data.message }}",
    }
    section = {"schedule_kind": "weekly", "schedule_at": "18:30:00"}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**form, "digest_schedule": section}
    )
    assert result["type"] is FlowResultType.FORM
    # At the top of the form: the frontend shows no error inside a section.
    assert result["errors"] == {"base": "no_schedule_weekdays"}

    section |= {"schedule_weekdays": ["fri", "mon"], "digest_mode": "also"}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**form, "digest_schedule": section}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    sub = next(s for s in source_entry.subentries.values() if s.title == "Weekly doors")
    data = dict(sub.data)
    assert data["schedule"] == {"kind": "weekly", "at": "18:30", "weekdays": [0, 4]}
    assert (data["digest_mode"], data["digest_max_media"]) == ("also", 10)
    assert data["digest_send_empty"] is False
    assert "digest_schedule" not in data

    result = await source_entry.start_subentry_reconfigure_flow(hass, sub.subentry_id)
    schema = result["data_schema"].schema
    shown = next(v for k, v in schema.items() if k == "digest_schedule")
    suggested = {
        str(k): k.description["suggested_value"]
        for k in shown.schema.schema
        if k.description
    }
    assert suggested["schedule_kind"] == "weekly"
    assert suggested["schedule_weekdays"] == ["mon", "fri"]
    assert suggested["digest_mode"] == "also"


async def test_flow_without_schedule_stores_no_digest_keys(
    hass: HomeAssistant, started: RecordingDestination, source_entry: MockConfigEntry
) -> None:
    """Off (or the section left alone) stores nothing: the route notifies at once."""
    result = await start_subentry_flow(hass, source_entry)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            "name": "Plain",
            "event_type": "door_opened",
            "destinations": ["notify.demo_notifications"],
            "template": "x",
            "digest_schedule": {"schedule_kind": "off", "schedule_hours": 3},
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    sub = next(s for s in source_entry.subentries.values() if s.title == "Plain")
    assert not {"schedule", "digest_mode", "digest_schedule"} & set(sub.data)


@pytest.mark.parametrize(
    ("section", "error"),
    [
        (
            {"schedule_kind": "interval", "schedule_hours": 2.5},
            "invalid_schedule_hours",
        ),
        ({"schedule_kind": "weekly", "schedule_weekdays": []}, "no_schedule_weekdays"),
        ({"schedule_kind": "interval", "schedule_hours": 0}, None),
        ({"schedule_kind": "daily", "schedule_at": "25:61:00"}, None),
        ({"schedule_kind": "daily", "digest_max_media": 51}, None),
        ({"schedule_kind": "monthly"}, None),
    ],
)
async def test_flow_refuses_a_bad_schedule(
    hass: HomeAssistant,
    started: RecordingDestination,
    source_entry: MockConfigEntry,
    section: dict[str, Any],
    error: str | None,
) -> None:
    """Impossible values get a translated error at the top of the form (the
    frontend shows none inside a section; the text names the section), or are
    refused by the form's own selectors (None); nothing is stored either way."""
    result = await start_subentry_flow(hass, source_entry)
    form = {
        "name": "Bad",
        "event_type": "door_opened",
        "destinations": ["notify.demo_notifications"],
        "template": "x",
        "digest_schedule": section,
    }
    configure = hass.config_entries.subentries.async_configure
    if error is None:
        with pytest.raises(InvalidData):
            await configure(result["flow_id"], form)
    else:
        result = await configure(result["flow_id"], form)
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == {"base": error}
    assert not any(s.title == "Bad" for s in source_entry.subentries.values())


# --- timing ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "route_options", [{"schedule": {"kind": "daily", "at": "02:30"}}]
)
async def test_daily_digest_across_spring_forward(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, berlin: None, source_entry
) -> None:
    """Daily at 02:30 Berlin: 01:30 UTC before the change, 03:00 CEST (01:00 UTC) on
    the day the clocks skip 02:30, 00:30 UTC after; once a day, never twice."""
    freezer.move_to(datetime(2026, 3, 27, 12, 0, tzinfo=UTC))
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    recorder = RecordingDestination()
    hass.data[DATA_HUB].register_destination(
        DestinationRuntime(destination=recorder, entry_id="tests")
    )
    sent_at: list[datetime] = []
    moment = datetime(2026, 3, 27, 12, 0, tzinfo=UTC)
    while moment < datetime(2026, 3, 31, 0, 0, tzinfo=UTC):
        await fire(hass, f"event at {moment}")
        before = len(recorder.notifications)
        moment += timedelta(minutes=30)
        await move(hass, freezer, moment)
        if len(recorder.notifications) > before:
            sent_at.append(moment)
    assert sent_at == [
        datetime(2026, 3, 28, 1, 30, tzinfo=UTC),
        datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
        datetime(2026, 3, 30, 0, 30, tzinfo=UTC),
    ]
    assert all(n.title == "Doors" for n in recorder.notifications)
    # 27th 12:00 to 28th 01:30 (UTC): 27 events every half hour.
    assert texts(recorder)[0].startswith("Doors: 27 events since")


async def test_instead_waits_for_the_digest(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, started: RecordingDestination
) -> None:
    """ "Instead": nothing at once, one digest at 08:00 with the source's line."""
    await fire(hass, "front", "back", "garage")
    assert texts(started) == []
    await move(hass, freezer, START + timedelta(minutes=59))
    assert texts(started) == []
    await move(hass, freezer, START + timedelta(hours=1))
    [digest] = texts(started)
    # "Since" on the reader's (HA's) clock: 07:00 in Berlin is 05:00 UTC.
    assert digest.startswith("Doors: 3 events since June 1, 2026, 07:00\n")
    assert f"{DEMO_EVENT} × 3" in digest
    # Nothing since: the next day sends nothing.
    await move(hass, freezer, START + timedelta(days=1, hours=1))
    assert len(started.notifications) == 1


@pytest.mark.parametrize("route_options", [{"digest_mode": "also"}])
async def test_also_keeps_immediate_notifications(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, started: RecordingDestination
) -> None:
    """ "Also": each event at once, and counted in the digest."""
    await fire(hass, "front", "back")
    assert texts(started) == ["front", "back"]
    await move(hass, freezer, START + timedelta(hours=1))
    assert texts(started)[2].startswith("Doors: 2 events since")


async def test_nothing_happened_nothing_sent(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, started: RecordingDestination
) -> None:
    """No event: no digest at its time."""
    await move(hass, freezer, START + timedelta(hours=1))
    assert texts(started) == []


@pytest.mark.parametrize("route_options", [{"digest_send_empty": True}])
async def test_send_empty_says_nothing_happened(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, started: RecordingDestination
) -> None:
    """The option sends a "nothing new" digest."""
    await move(hass, freezer, START + timedelta(hours=1))
    [text] = texts(started)
    assert text.startswith("Doors: nothing new since")


# --- restarts --------------------------------------------------------------------------


async def test_reload_before_the_digest_loses_nothing(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    started: RecordingDestination,
    hass_storage: dict[str, Any],
) -> None:
    """Events are on disk when acknowledged; a reload keeps them; one digest."""
    await fire(hass, "one", "two")
    stored = hass_storage[DIGEST_STORE_KEY]["data"]["routes"][DEMO_ROUTE_ID]
    assert stored["period"]["total"] == 2
    assert await hass.config_entries.async_reload(SOURCE_ENTRY_ID)
    await hass.async_block_till_done()
    await fire(hass, "three")
    await move(hass, freezer, START + timedelta(hours=1))
    assert [t.split(" since")[0] for t in texts(started)] == ["Doors: 3 events"]
    assert await hass.config_entries.async_reload(SOURCE_ENTRY_ID)
    await move(hass, freezer, START + timedelta(hours=2))
    assert len(started.notifications) == 1
    stored = hass_storage[DIGEST_STORE_KEY]["data"]["routes"][DEMO_ROUTE_ID]
    assert (stored["period"]["total"], stored["sending"]) == (0, None)


def _interrupted_store(delivered: list[str]) -> dict[str, Any]:
    """What a stop in the middle of sending the 08:00 digest left on disk."""
    since = START - timedelta(days=1)
    until = START + timedelta(hours=1)
    period = Period(since=since, total=4, by_type={DEMO_EVENT: 4})
    digest = Digest(
        digest_id=f"{DEMO_ROUTE_ID}:{until.isoformat()}",
        route_id=DEMO_ROUTE_ID,
        route_name="Doors",
        source_kind="ha_events",
        until=until,
        period=period,
        delivered=frozenset(delivered),
    )
    return {
        "version": 1,
        "minor_version": 1,
        "key": DIGEST_STORE_KEY,
        "data": {
            "version": 1,
            "routes": {
                DEMO_ROUTE_ID: {
                    "period": Period(since=until).to_dict(),
                    "last_run": until.isoformat(),
                    "sending": digest.to_dict(),
                }
            },
        },
    }


@pytest.mark.parametrize("route_options", [{"destinations": ["recorder", "second"]}])
async def test_restart_mid_send_finishes_once(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    berlin: None,
    routes: list[ConfigSubentryDataWithId],
    hass_storage: dict[str, Any],
) -> None:
    """Stopped after the first destination had the digest: at start the second gets
    it, the first not again, and nothing more goes out later."""
    hass_storage[DIGEST_STORE_KEY] = _interrupted_store(["recorder"])
    freezer.move_to(START + timedelta(hours=1, minutes=5))
    assert await async_setup_component(hass, DOMAIN, {})
    first, second = RecordingDestination(), RecordingDestination()
    second.destination_id = "second"
    hub = hass.data[DATA_HUB]
    for dest in (first, second):
        hub.register_destination(DestinationRuntime(destination=dest, entry_id="t"))
    # The source comes up after its destinations, as at a start of Home Assistant.
    entry = kind_entry(
        hass,
        "ha_events",
        entry_id=SOURCE_ENTRY_ID,
        subentries=typed("ha_events", routes),
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    await move(hass, freezer, START + timedelta(days=1, hours=1))
    assert texts(first) == []
    [text] = texts(second)
    assert text.startswith("Doors: 4 events since")
    stored = hass_storage[DIGEST_STORE_KEY]["data"]["routes"][DEMO_ROUTE_ID]
    assert stored["sending"] is None


# --- action and button ---------------------------------------------------------------


async def test_send_digest_action_by_id_and_entity(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, started: RecordingDestination
) -> None:
    """The action sends what was collected; by subentry id or the route's entity;
    the timer then sends nothing twice."""
    await fire(hass, "one")
    response = await hass.services.async_call(
        DOMAIN,
        "send_digest",
        {"route": DEMO_ROUTE_ID},
        blocking=True,
        return_response=True,
    )
    assert response["sent"] == 1
    assert texts(started)[0].startswith("Doors: 1 event since")
    entity_id = next(
        e.entity_id
        for e in er.async_entries_for_config_entry(er.async_get(hass), SOURCE_ENTRY_ID)
        if e.config_subentry_id == DEMO_ROUTE_ID and e.domain == "event"
    )
    await fire(hass, "two", "three")
    response = await hass.services.async_call(
        DOMAIN,
        "send_digest",
        {"route": entity_id, "now": True},
        blocking=True,
        return_response=True,
    )
    assert response["sent"] == 1
    assert texts(started)[1].startswith("Doors: 2 events since")
    # Nothing left for the timer.
    await move(hass, freezer, START + timedelta(hours=1))
    assert len(started.notifications) == 2
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "send_digest", {"route": "event.nothing_here"}, blocking=True
        )
    assert err.value.translation_key == "not_a_scheduled_route"


async def test_button_sends_the_digest_now(
    hass: HomeAssistant, started: RecordingDestination
) -> None:
    """The route's "Send digest now" button; nothing happened: nothing sent."""
    entity_id = er.async_get(hass).async_get_entity_id(
        "button", DOMAIN, f"{SOURCE_ENTRY_ID}_{DEMO_ROUTE_ID}_send_digest"
    )
    assert entity_id is not None
    await fire(hass, "one", "two")
    await hass.services.async_call(
        "button", "press", {"entity_id": entity_id}, blocking=True
    )
    assert texts(started)[0].startswith("Doors: 2 events since")
    await hass.services.async_call(
        "button", "press", {"entity_id": entity_id}, blocking=True
    )
    assert len(started.notifications) == 1


@pytest.mark.parametrize(
    "route_options",
    [
        {"schedule": None},
        # Edited by hand: a weekday that does not exist, a mapping that is not one.
        {"schedule": {"kind": "weekly", "at": "08:00", "weekdays": [9]}},
        {"schedule": "daily"},
    ],
)
async def test_unscheduled_route_has_no_button(
    hass: HomeAssistant, started: RecordingDestination
) -> None:
    """A route without a (valid) schedule notifies at once and has no button."""
    await fire(hass, "now")
    assert texts(started) == ["now"]
    registry = er.async_get(hass)
    assert not [
        e
        for e in er.async_entries_for_config_entry(registry, SOURCE_ENTRY_ID)
        if e.domain == "button"
    ]


async def test_removed_route_forgets_its_digest(
    hass: HomeAssistant,
    started: RecordingDestination,
    source_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """Removing the route (or its entry) drops what it collected."""
    await fire(hass, "one")
    assert DEMO_ROUTE_ID in hass_storage[DIGEST_STORE_KEY]["data"]["routes"]
    hass.config_entries.async_remove_subentry(source_entry, DEMO_ROUTE_ID)
    await hass.async_block_till_done()
    assert hass_storage[DIGEST_STORE_KEY]["data"]["routes"] == {}


async def test_turning_the_schedule_off_notifies_at_once_again(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    started: RecordingDestination,
    source_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """Off in the edit form: events notify at once; what waited is dropped, not
    sent by surprise later; the button goes."""
    await fire(hass, "waiting")
    # An entity-like id: the form takes notify entity ids only.
    phone = RecordingDestination()
    phone.destination_id = "notify.phone"
    hass.data[DATA_HUB].register_destination(
        DestinationRuntime(destination=phone, entry_id="tests")
    )
    result = await source_entry.start_subentry_reconfigure_flow(hass, DEMO_ROUTE_ID)
    sub = source_entry.subentries[DEMO_ROUTE_ID]
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            "name": "Doors",
            "event_type": sub.data["event_type"],
            "destinations": ["notify.phone"],
            "template": "{{ data.message }}",
            "digest_schedule": {"schedule_kind": "off"},
        },
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert "schedule" not in source_entry.subentries[DEMO_ROUTE_ID].data
    assert hass_storage[DIGEST_STORE_KEY]["data"]["routes"] == {}
    await fire(hass, "now")
    await move(hass, freezer, START + timedelta(days=1, hours=1))
    assert (texts(started), texts(phone)) == ([], ["now"])
    registry = er.async_get(hass)
    assert not registry.async_get_entity_id(
        "button", DOMAIN, f"{SOURCE_ENTRY_ID}_{DEMO_ROUTE_ID}_send_digest"
    )


async def test_unreadable_store_is_dropped_not_fatal(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    berlin: None,
    source_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """A stored route that is not a digest (edited, truncated) starts afresh."""
    hass_storage[DIGEST_STORE_KEY] = {
        "version": 1,
        "minor_version": 1,
        "key": DIGEST_STORE_KEY,
        "data": {"version": 1, "routes": {DEMO_ROUTE_ID: {"period": "garbage"}}},
    }
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    recorder = RecordingDestination()
    hass.data[DATA_HUB].register_destination(
        DestinationRuntime(destination=recorder, entry_id="tests")
    )
    assert source_entry.state.value == "loaded"
    await fire(hass, "one")
    await move(hass, freezer, START + timedelta(hours=1))
    assert texts(recorder)[0].startswith("Doors: 1 event since")
