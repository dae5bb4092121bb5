"""Immich routes on a schedule, through Home Assistant and the fake server: a digest
with the route's media, and memories (on this day, Feb 29; a random photo)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.notify_bridge.const import DOMAIN
from custom_components.notify_bridge.pipeline.models import MediaType
from custom_components.notify_bridge.runtime import DATA_HUB, DestinationRuntime
from tests.common import RecordingDestination
from tests.fakes.immich_server import FakeImmichServer

from .conftest import immich_entry, immich_route, poll, route_form, setup_all


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


async def start(hass: HomeAssistant) -> RecordingDestination:
    await setup_all(hass)
    recorder = RecordingDestination()
    hass.data[DATA_HUB].register_destination(
        DestinationRuntime(destination=recorder, entry_id="tests")
    )
    return recorder


async def move(hass: HomeAssistant, freezer: FrozenDateTimeFactory, to: datetime):
    freezer.move_to(to)
    async_fire_time_changed(hass, to)
    await hass.async_block_till_done()


def taken(server: FakeImmichServer, album: str, *moments: datetime) -> list[str]:
    ids = server.add_assets(album, len(moments))
    for asset_id, moment in zip(ids, moments, strict=True):
        server.set_taken([asset_id], moment)
    return ids


@pytest.fixture(autouse=True)
async def berlin(hass: HomeAssistant) -> None:
    """Memories and digests follow Home Assistant's time zone."""
    await hass.config.async_set_time_zone("Europe/Berlin")


async def test_digest_sends_the_summary_and_the_routes_media(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, v3: FakeImmichServer
) -> None:
    """ "Instead": new photos wait; at 08:00 one message with the album line and
    the photos' thumbnails, fetched as live notifications fetch them."""
    freezer.move_to(utc(2026, 6, 1, 5))  # 07:00 in Berlin
    album = v3.create_album("Family", 1)
    route = immich_route(
        [album],
        destinations=["recorder"],
        schedule={"kind": "daily", "at": "08:00"},
        digest_mode="instead",
        digest_max_media=2,
    )
    immich_entry(hass, v3, [route])
    recorder = await start(hass)
    added = v3.add_assets(album, 3)
    await poll(hass)
    assert recorder.notifications == []

    await move(hass, freezer, utc(2026, 6, 1, 6))
    [digest] = recorder.notifications
    assert digest.message.splitlines()[1] == "3 new photos in Family"
    assert [m.type for m in digest.media] == [MediaType.PHOTO] * 2
    assert all(m.data for m in digest.media)
    # Two of the three (the route's cap), each downloaded once: at digest time,
    # not also when the poll found them.
    fetched = [v3.paths.get(f"/api/assets/{a}/thumbnail", 0) for a in added]
    assert sorted(fetched) == [0, 1, 1]


@pytest.mark.parametrize(
    ("today", "years", "count"),
    [
        # No Feb 29 in 2027: Feb 28 shows the leap-day photo too.
        (utc(2027, 2, 28, 7), "(3 years ago, 6 years ago): 2 photos", 2),
        # 2028 has one: Feb 29 shows only leap-day photos, Feb 28 only its own.
        (utc(2028, 2, 29, 7), "(4 years ago): 1 photo", 1),
        (utc(2028, 2, 28, 7), "(7 years ago): 1 photo", 1),
    ],
)
async def test_memories_on_february_29(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    v3: FakeImmichServer,
    today: datetime,
    years: str,
    count: int,
) -> None:
    """At 09:00 Berlin: this day's photos of earlier years, with media; this year's
    and other days' never; a day with none sends nothing."""
    freezer.move_to(today)
    album = v3.create_album("Leap")
    taken(
        v3,
        album,
        utc(2024, 2, 29, 12),
        utc(2021, 2, 28, 12),
        utc(2025, 3, 1, 12),
        today,  # this year's: never a memory
    )
    route = immich_route(
        [album],
        destinations=["recorder"],
        memories=["memories_on_this_day"],
        memories_at="09:00",
    )
    immich_entry(hass, v3, [route])
    recorder = await start(hass)
    await move(hass, freezer, today + timedelta(minutes=59))
    assert recorder.notifications == []
    await move(hass, freezer, today + timedelta(hours=1))
    [memory] = recorder.notifications
    assert memory.message == f"On this day {years}"
    assert memory.title == "Family"
    assert len(memory.media) == count
    assert all(m.data for m in memory.media)


async def test_random_photo_daily_and_nothing_when_nothing_to_show(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, v3: FakeImmichServer
) -> None:
    """A random photo each day at its time; "on this day" with nothing to show sends
    nothing; a day later it runs again (re-armed)."""
    freezer.move_to(utc(2026, 6, 1, 7))
    album = v3.create_album("Cats", 3)
    route = immich_route(
        [album],
        destinations=["recorder"],
        media="none",  # live notifications without media; a memory is its photo
        memories=["memories_random_photo", "memories_on_this_day"],
        memories_at="09:30",
    )
    immich_entry(hass, v3, [route])
    recorder = await start(hass)
    await move(hass, freezer, utc(2026, 6, 1, 7, 30))
    [memory] = recorder.notifications
    assert memory.message == "A random photo from Cats"
    assert len(memory.media) == 1 and memory.media[0].data
    await move(hass, freezer, utc(2026, 6, 2, 7, 30))
    assert len(recorder.notifications) == 2


async def test_memory_fires_the_route_event_entity(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, v3: FakeImmichServer
) -> None:
    """Automations see memories: the route's event entity fires with the type."""
    freezer.move_to(utc(2026, 6, 1, 7))
    album = v3.create_album("Cats", 2)
    route = immich_route(
        [album],
        destinations=["recorder"],
        memories=["memories_random_photo"],
        memories_at="09:30",
    )
    immich_entry(hass, v3, [route])
    await start(hass)
    await move(hass, freezer, utc(2026, 6, 1, 7, 30))
    states = [
        s for s in hass.states.async_all("event") if "memories_random_photo" in str(s)
    ]
    assert states and states[0].attributes["event_type"] == "memories_random_photo"


async def test_route_flow_stores_memories_and_a_schedule(
    hass: HomeAssistant, target_entry: Any, v3: FakeImmichServer
) -> None:
    """The album route form's memories and schedule sections become options; the
    edit form shows them again; the route then has its digest button."""
    album = v3.create_album("Family", 1)
    entry = immich_entry(hass, v3, [])
    await setup_all(hass)
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "album_route"), context={"source": SOURCE_USER}
    )
    form, templates = route_form([album])
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            **form,
            "memories_schedule": {
                "memories": ["memories_on_this_day"],
                "memories_at": "07:15:00",
            },
            "digest_schedule": {"schedule_kind": "interval", "schedule_hours": 6.0},
        },
    )
    assert result["step_id"] == "templates"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], templates
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    [sub] = entry.subentries.values()
    assert sub.data["memories"] == ["memories_on_this_day"]
    assert sub.data["memories_at"] == "07:15"
    assert sub.data["schedule"] == {"kind": "interval", "hours": 6}
    assert not {"memories_schedule", "digest_schedule"} & set(sub.data)
    registry = er.async_get(hass)
    assert registry.async_get_entity_id(
        "button", DOMAIN, f"{entry.entry_id}_{sub.subentry_id}_send_digest"
    )

    result = await entry.start_subentry_reconfigure_flow(hass, sub.subentry_id)
    shown = result["data_schema"].schema["memories_schedule"].schema.schema
    suggested = {str(k): k.description["suggested_value"] for k in shown}
    assert suggested == {"memories": ["memories_on_this_day"], "memories_at": "07:15"}


async def test_memories_survive_a_server_error(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, v3: FakeImmichServer
) -> None:
    """The server failing at memory time: nothing sent, nothing raised; the next
    day's run happens as usual."""
    freezer.move_to(utc(2026, 6, 1, 7))
    album = v3.create_album("Cats", 2)
    route = immich_route(
        [album],
        destinations=["recorder"],
        memories=["memories_random_photo"],
        memories_at="09:30",
    )
    immich_entry(hass, v3, [route])
    recorder = await start(hass)
    # v3 lists an album's members through the search API.
    v3.fail(500, path="/api/search", times=1)
    await move(hass, freezer, utc(2026, 6, 1, 7, 30))
    assert recorder.notifications == []
    await move(hass, freezer, utc(2026, 6, 2, 7, 30))
    [memory] = recorder.notifications
    assert memory.message == "A random photo from Cats"
