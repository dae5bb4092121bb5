# ruff: noqa: RUF001 -- Russian expectations are Cyrillic
"""Immich memories against the fake server (v2 and v3): on this day, Feb 29, the
local day a photo was taken, a random photo, and the event routes see."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
import random
from zoneinfo import ZoneInfo

from freezegun.api import FrozenDateTimeFactory
import pytest

from custom_components.notify_bridge.pipeline.engine import Pipeline
from custom_components.notify_bridge.pipeline.models import Route, freeze
from custom_components.notify_bridge.sources.immich.client import (
    AssetType,
    DatedAsset,
    ImmichClient,
)
from custom_components.notify_bridge.sources.immich.memories import (
    MemoryKind,
    async_digest_assets,
    async_on_this_day,
    async_random_photo,
    local_today,
    memory_event,
    memory_message,
    pick_on_this_day,
    same_day,
)
from tests.fakes.immich_server import OTHER_ID, FakeImmichServer
from tests.pipeline.helpers import MemoryDestination

BERLIN = ZoneInfo("Europe/Berlin")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def dated(server: FakeImmichServer, album_id: str, *moments, **kw) -> list[str]:
    """Add one asset per moment (UTC instant, or (instant, UTC offset))."""
    ids = server.add_assets(album_id, len(moments), **kw)
    for asset_id, moment in zip(ids, moments, strict=True):
        when, offset = moment if isinstance(moment, tuple) else (moment, timedelta(0))
        server.set_taken([asset_id], when, local_offset=offset)
    return ids


async def test_on_this_day_uses_the_local_day_and_earlier_years(
    server: FakeImmichServer, client: ImmichClient
) -> None:
    """June 1 in earlier years, by the wall clock where each photo was taken: not
    this year's, not one taken just after midnight on June 2 in Moscow (still June 1
    in UTC), but one taken late on June 1 in New York (June 2 in UTC)."""
    album = server.create_album("Family")
    wanted = dated(
        server,
        album,
        utc(2020, 6, 1, 10),
        utc(2018, 6, 1, 8),
        (utc(2019, 6, 2, 4, 30), timedelta(hours=-5)),  # 23:30 June 1 in New York
    )
    dated(
        server,
        album,
        utc(2026, 6, 1, 9),  # this year
        (utc(2020, 6, 1, 21, 30), timedelta(hours=3)),  # 00:30 June 2 in Moscow
        utc(2020, 6, 3, 9),
    )
    dated(server, album, utc(2017, 6, 1, 9), processing=True)
    dated(server, album, utc(2016, 6, 1, 9), type="VIDEO")
    # A member another user added (v2 search would hide it; the listing does not).
    others = dated(server, album, utc(2015, 6, 1, 9), owner_id=OTHER_ID)

    selection = await async_on_this_day(
        client, [album], date(2026, 6, 1), rng=random.Random(1)
    )
    assert {a.id for a in selection.assets} == {*wanted, *others}
    assert selection.years == {2020: 1, 2019: 1, 2018: 1, 2015: 1}
    assert memory_message(selection) == (
        "On this day (6 years ago, 7 years ago, 8 years ago, 11 years ago): 4 photos"
    )
    assert memory_message(selection, "ru") == (
        "В этот день (6 лет назад, 7 лет назад, 8 лет назад, 11 лет назад): "
        "4 фотографии"
    )
    with_videos = await async_on_this_day(
        client, [album], date(2026, 6, 1), include_videos=True
    )
    assert len(with_videos.assets) == 5


async def test_assets_in_two_albums_count_once_and_details_are_few(
    server: FakeImmichServer, client: ImmichClient
) -> None:
    """A photo in two routed albums is one memory; details are fetched only for the
    chosen ones (`limit`), not for every match."""
    first, second = server.create_album("A"), server.create_album("B")
    ids = dated(server, first, *(utc(2010 + i, 6, 1, 12) for i in range(12)))
    server.add_existing(second, ids[:3])
    server.reset_counters()
    selection = await async_on_this_day(
        client, [first, second], date(2026, 6, 1), limit=5, rng=random.Random(3)
    )
    assert len(selection.assets) == 5
    assert len({a.id for a in selection.assets}) == 5
    detail_requests = sum(
        n for path, n in server.paths.items() if path.startswith("/api/assets/")
    )
    assert detail_requests == 5


def asset(index: int, taken: date, kind: AssetType = AssetType.IMAGE) -> DatedAsset:
    return DatedAsset(f"00000000-0000-4000-8000-{index:012d}", kind, taken, True)


def test_round_robin_over_years_newest_first() -> None:
    """A busy year does not crowd out the others."""
    assets = [
        asset(year * 100 + n, date(year, 6, 1))
        for year in (2021, 2022, 2023)
        for n in range(5)
    ]
    chosen, years = pick_on_this_day(
        assets, date(2026, 6, 1), limit=4, rng=random.Random(0)
    )
    assert [a.taken_on.year for a in chosen if a.taken_on] == [2023, 2022, 2021, 2023]
    assert years == {2021: 5, 2022: 5, 2023: 5}
    again, _ = pick_on_this_day(assets, date(2026, 6, 1), limit=4, rng=random.Random(0))
    assert again == chosen  # seeded: reproducible


@pytest.mark.parametrize(
    ("today", "shown"),
    [
        # Not a leap year: Feb 28 shows Feb 28 and Feb 29 photos.
        (date(2026, 2, 28), {date(2020, 2, 29), date(2021, 2, 28), date(2024, 2, 29)}),
        # A leap year: Feb 28 is only Feb 28, Feb 29 only Feb 29.
        (date(2028, 2, 28), {date(2021, 2, 28)}),
        (date(2028, 2, 29), {date(2020, 2, 29), date(2024, 2, 29)}),
        (date(2026, 3, 1), {date(2025, 3, 1)}),
    ],
)
def test_february_29_rule(today: date, shown: set[date]) -> None:
    """Leap-day photos come back every year, on Feb 28 when there is no Feb 29."""
    days = [
        date(2020, 2, 29),
        date(2021, 2, 28),
        date(2024, 2, 29),
        date(2025, 3, 1),
        date(2028, 2, 29),
    ]
    assert {d for d in days if same_day(d, today)} == shown


async def test_leap_day_memories_by_the_clock(
    v3_server: FakeImmichServer,
    session,
    freezer: FrozenDateTimeFactory,
) -> None:
    """At 23:30 UTC on Feb 28, 2028 it is already Feb 29 in Berlin: the leap-day
    photos are the memories; a day later (Mar 1) there are none."""
    client = ImmichClient(session, v3_server.url, v3_server.api_key)
    album = v3_server.create_album("Leap")
    leap = dated(v3_server, album, utc(2024, 2, 29, 12), utc(2020, 2, 29, 12))
    dated(v3_server, album, utc(2021, 2, 28, 12))
    freezer.move_to(utc(2028, 2, 28, 23, 30))
    today = local_today(BERLIN)
    assert today == date(2028, 2, 29)
    selection = await async_on_this_day(client, [album], today)
    assert {a.id for a in selection.assets} == set(leap)

    freezer.move_to(utc(2027, 2, 28, 9))
    selection = await async_on_this_day(client, [album], local_today(BERLIN))
    assert len(selection.assets) == 3

    freezer.move_to(utc(2028, 3, 1, 9))
    selection = await async_on_this_day(client, [album], local_today(BERLIN))
    assert selection.empty
    assert memory_message(selection) == "No photos from this day in earlier years."


async def test_random_photo_is_uniform_ready_and_a_photo(
    server: FakeImmichServer, client: ImmichClient
) -> None:
    """Seeded: the same pick twice; over many seeds every ready photo comes up and
    never a video or one still processing."""
    album = server.create_album("Cats")
    photos = set(server.add_assets(album, 4))
    server.add_assets(album, 2, type="VIDEO")
    server.add_assets(album, 2, processing=True)
    first = await async_random_photo(
        client, album, "Cats", date(2026, 6, 1), rng=random.Random(7)
    )
    second = await async_random_photo(
        client, album, "Cats", date(2026, 6, 1), rng=random.Random(7)
    )
    assert first.assets == second.assets and len(first.assets) == 1
    seen = set()
    for seed in range(40):
        pick = await async_random_photo(
            client, album, "Cats", date(2026, 6, 1), rng=random.Random(seed)
        )
        seen.add(pick.assets[0].id)
    assert seen == photos
    assert first.kind is MemoryKind.RANDOM_PHOTO
    assert memory_message(first, "ru") == "Случайная фотография из альбома «Cats»"


async def test_random_photo_of_an_empty_album(
    server: FakeImmichServer, client: ImmichClient
) -> None:
    """Nothing ready: an empty selection (the glue sends nothing)."""
    album = server.create_album("Empty")
    server.add_assets(album, 1, processing=True)
    pick = await async_random_photo(client, album, "Empty", date(2026, 6, 1))
    assert pick.empty


async def test_memory_event_renders_for_its_route_in_the_readers_language(
    v3_server: FakeImmichServer, session
) -> None:
    """The memory becomes a pipeline event for its route only; a template sees
    `assets` (with `years_ago`), `memory` and the reader's `language`."""
    client = ImmichClient(session, v3_server.url, v3_server.api_key)
    album = v3_server.create_album("Family")
    dated(v3_server, album, utc(2020, 6, 1, 10))
    selection = await async_on_this_day(client, [album], date(2026, 6, 1))
    dest = MemoryDestination("ru", language="ru")
    pipeline = Pipeline({"ru": dest}.get)
    template = (
        "{% if language == 'ru' %}{{ assets[0].years_ago }} лет назад"
        "{% else %}{{ assets[0].years_ago }} years ago{% endif %}: "
        "{{ memory.kind }} {{ assets[0].file_name }}"
    )
    routes = [
        Route(
            route_id=route_id,
            name=route_id,
            source_entry_id="immich-entry",
            event_types=frozenset({MemoryKind.ON_THIS_DAY.value}),
            match=freeze({"route.id": route_id}),
            destinations=("ru",),
            template=template,
        )
        for route_id in ("mine", "other")
    ]
    pipeline.router.set_routes("immich-entry", routes)
    event = memory_event(selection, "immich-entry", "mine", v3_server.url)
    [summary] = await pipeline.async_handle_event(event)
    assert summary.route_id == "mine"
    [notification] = dest.received
    file_name = selection.assets[0].file_name
    assert notification.message == f"6 лет назад: memories_on_this_day {file_name}"


async def test_digest_assets_are_the_newest_still_there(
    server: FakeImmichServer, client: ImmichClient
) -> None:
    """A digest's kept ids → details of the newest few; deleted ones drop out."""
    album = server.create_album("Family")
    ids = server.add_assets(album, 6)
    server.delete_assets([ids[5]])
    details = await async_digest_assets(client, [*ids, ids[4]], limit=3)
    assert [a.id for a in details] == [ids[3], ids[4]]
    assert await async_digest_assets(client, ids, limit=0) == ()
