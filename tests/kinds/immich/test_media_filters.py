"""Route filters and media: what each route receives, with which bytes."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import EVENT_HOMEASSISTANT_STARTED
from homeassistant.core import CoreState, HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.notify_bridge.kinds.immich.coordinator import SCAN_INTERVAL
from custom_components.notify_bridge.sources.immich import media as media_module
from custom_components.notify_bridge.sources.immich.client import AssetType
from custom_components.notify_bridge.sources.immich.routes import (
    DEFAULT_MAX_MEDIA,
    MediaPolicy,
    RouteConfig,
)
from tests.common import RecordingDestination
from tests.fakes.immich_server import FakeImmichServer

from .conftest import (
    ALL_EVENTS,
    coordinator,
    immich_entry,
    immich_route,
    poll,
)


def _added(recorder: RecordingDestination) -> list[Any]:
    return [n for n in recorder.notifications if "new item" in n.message]


async def test_media_bytes_and_identity(
    hass: HomeAssistant, recorder: RecordingDestination, server: FakeImmichServer
) -> None:
    """Previews arrive as bytes with an identity; videos as playback; bounded count."""
    album = server.create_album("Holiday", 1)
    immich_entry(
        hass,
        server,
        [
            immich_route(
                [album],
                destinations=["recorder"],
                media="original",
                max_media=2,
                title_template="{{ album.name }}",
            )
        ],
    )
    await hass.config_entries.async_setup("immich_entry")
    await hass.async_block_till_done()
    photos = server.add_assets(album, 2)
    video = server.add_assets(album, 1, type="VIDEO")
    await poll(hass)

    (notification,) = recorder.notifications
    assert notification.title == "Holiday"
    assert notification.message.startswith("3 new items in Holiday")
    assert "(2 photos, 1 videos)" in notification.message
    assert len(notification.media) == 2
    identities = {item.identity for item in notification.media}
    ordered = [*photos, *video]
    assert all(item.data for item in notification.media)
    assert identities <= {
        *(f"immich:{p}:original" for p in photos),
        f"immich:{video[0]}:playback",
    }
    assert (
        sum(server.paths[f"/api/assets/{a}/original"] for a in ordered)
        + sum(server.paths[f"/api/assets/{a}/video/playback"] for a in ordered)
        == 2
    )


async def test_filters_and_shared_downloads(
    hass: HomeAssistant, recorder: RecordingDestination, v3: FakeImmichServer
) -> None:
    """Each route sees only its assets; a rendition is downloaded once per poll."""
    album = v3.create_album("Family", 1)
    routes = [
        immich_route([album], destinations=["recorder"], title="All"),
        immich_route(
            [album],
            subentry_id="route_favorites",
            title="Favorites",
            destinations=["recorder"],
            favorites_only=True,
            events=["assets_added"],
        ),
        immich_route(
            [album],
            subentry_id="route_videos",
            title="Videos",
            destinations=["recorder"],
            asset_types=["video"],
            events=["assets_added"],
        ),
        immich_route(
            [album],
            subentry_id="route_ann",
            title="Ann",
            destinations=["recorder"],
            people=["ann"],
            events=["assets_added"],
            media="none",
        ),
    ]
    immich_entry(hass, v3, routes)
    await hass.config_entries.async_setup("immich_entry")
    await hass.async_block_till_done()
    # index 0 of a batch is a favorite in the fake; no videos; Ann on the second batch.
    first = v3.add_assets(album, 3)
    v3.add_assets(album, 1, people=["Ann", "Bob"])
    await poll(hass)

    by_route = {}
    for notification in _added(recorder):
        by_route.setdefault(notification.message.split(" ")[0], []).append(notification)
    messages = sorted(n.message.split(" in ")[0] for n in _added(recorder))
    # All: 4 assets; Favorites: first of each batch (2); Videos: none; Ann: 1.
    assert messages == ["1 new item", "2 new items", "4 new items"]
    assert v3.paths[f"/api/assets/{first[0]}/thumbnail"] == 1
    no_media = next(n for n in _added(recorder) if n.message.startswith("1 new"))
    assert no_media.media == ()


async def test_download_refused_starts_reauth(
    hass: HomeAssistant, recorder: RecordingDestination, v3: FakeImmichServer
) -> None:
    """A 401 on a media download still delivers the text and starts reauth."""
    album = v3.create_album("Family", 1)
    immich_entry(hass, v3, [immich_route([album], destinations=["recorder"])])
    await hass.config_entries.async_setup("immich_entry")
    await hass.async_block_till_done()
    added = v3.add_assets(album, 1)
    v3.fail(401, path=f"/api/assets/{added[0]}/thumbnail")
    await poll(hass)
    assert len(recorder.notifications) == 1
    assert recorder.notifications[0].media == ()
    flows = hass.config_entries.flow.async_progress_by_handler("notify_bridge")
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]


async def test_media_errors_and_budget(
    hass: HomeAssistant,
    recorder: RecordingDestination,
    v3: FakeImmichServer,
    monkeypatch: Any,
) -> None:
    """A failed download drops one item; the per-event byte budget is kept."""
    album = v3.create_album("Family", 1)
    immich_entry(hass, v3, [immich_route([album], destinations=["recorder"])])
    await hass.config_entries.async_setup("immich_entry")
    await hass.async_block_till_done()
    added = v3.add_assets(album, 3)
    v3.fail(500, path=f"/api/assets/{added[0]}/thumbnail")
    sizes = []

    real = media_module.MediaFetcher._async_download

    async def measured(self: Any, asset: Any, variant: Any) -> Any:
        item = await real(self, asset, variant)
        if item is not None:
            sizes.append(len(item.data))
        return item

    monkeypatch.setattr(media_module.MediaFetcher, "_async_download", measured)
    await poll(hass)
    assert len(recorder.notifications[0].media) == 2

    monkeypatch.setattr(media_module, "MAX_EVENT_BYTES", sizes[0])
    v3.add_assets(album, 2)
    await poll(hass)
    assert len(recorder.notifications[1].media) == 1


async def test_scheduled_poll(
    hass: HomeAssistant, recorder: RecordingDestination, v3: FakeImmichServer
) -> None:
    """The coordinator polls on its own every scan interval."""
    album = v3.create_album("Family", 1)
    immich_entry(hass, v3, [immich_route([album], destinations=["recorder"])])
    await hass.config_entries.async_setup("immich_entry")
    await hass.async_block_till_done()
    watcher = coordinator(hass)
    # Firing the clock forward also fires aiohttp's keep-alive timers (connection
    # resets), so check the schedule and run the job it scheduled.
    assert watcher.update_interval == SCAN_INTERVAL
    assert watcher._unsub_refresh is not None
    v3.add_assets(album, 1)
    watcher._async_unsub_refresh()
    await watcher._handle_refresh_interval()
    await hass.async_block_till_done()
    assert len(recorder.notifications) == 1
    assert await hass.config_entries.async_unload("immich_entry")


async def test_events_found_during_startup_wait_for_start(
    hass: HomeAssistant, recorder: RecordingDestination, v3: FakeImmichServer
) -> None:
    """Changes found before Home Assistant started are delivered once it has."""
    album = v3.create_album("Family", 1)
    immich_entry(hass, v3, [immich_route([album], destinations=["recorder"])])
    await hass.config_entries.async_setup("immich_entry")
    await hass.async_block_till_done()
    hass.set_state(CoreState.not_running)
    await hass.config_entries.async_reload("immich_entry")
    await hass.async_block_till_done()
    v3.add_assets(album, 1)
    await poll(hass)
    assert recorder.notifications == []
    hass.set_state(CoreState.running)
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STARTED)
    await hass.async_block_till_done()
    assert len(recorder.notifications) == 1


def test_route_config_parsing() -> None:
    """Unknown or malformed stored values fall back to safe defaults."""
    route = RouteConfig.from_data(
        "r",
        "R",
        "e",
        {
            "albums": ["a"],
            "events": [*ALL_EVENTS, "bogus"],
            # Lower-case form keys, and Immich's upper case as older routes stored.
            "asset_types": ["IMAGE", "video", "NOPE"],
            "people": ["  ", "Ann"],
            "media": "huge",
            "max_media": "lots",
            "template_assets_added": "",
        },
    )
    assert len(route.events) == 5
    assert route.asset_types == frozenset({AssetType.IMAGE, AssetType.VIDEO})
    assert route.people == frozenset({"ann"})
    assert route.media is MediaPolicy.PREVIEW
    assert route.max_media == DEFAULT_MAX_MEDIA
    assert len(route.pipeline_routes()) == 5
    assert RouteConfig.from_data("r", "R", "e", {"max_media": 999}).max_media == 50


async def test_coalesced_uploads_count_every_asset(
    hass: HomeAssistant, recorder: RecordingDestination, v3: FakeImmichServer
) -> None:
    """With a coalescing window, additions seen by two polls become one message."""
    album = v3.create_album("Family", 1)
    immich_entry(
        hass,
        v3,
        [immich_route([album], destinations=["recorder"], coalesce_seconds=0.2)],
    )
    await hass.config_entries.async_setup("immich_entry")
    await hass.async_block_till_done()
    v3.add_assets(album, 2)
    await poll(hass)
    v3.add_assets(album, 1, type="VIDEO")
    await poll(hass)
    assert recorder.notifications == []
    await asyncio.sleep(0.3)
    await hass.async_block_till_done()
    (notification,) = recorder.notifications
    assert notification.message.startswith(
        "3 new items in Family from Alice (2 photos, 1 videos)"
    )
    assert len(notification.media) == 3


def test_route_without_a_window_coalesces_for_60_seconds() -> None:
    """Stored without `coalesce_seconds`: 60 s; a stored 0 stays off."""
    data = {"albums": ["a"], "events": ["assets_added"], "destinations": ["x"]}
    (route,) = RouteConfig.from_data("r", "R", "e", data).pipeline_routes()
    assert route.coalesce_seconds == 60
    (route,) = RouteConfig.from_data(
        "r", "R", "e", {**data, "coalesce_seconds": 0}
    ).pipeline_routes()
    assert route.coalesce_seconds == 0


async def test_default_window_merges_a_burst_into_one_message(
    hass: HomeAssistant,
    recorder: RecordingDestination,
    v3: FakeImmichServer,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Three polls finding uploads to one album within 60 s: one message for all."""
    album = v3.create_album("Family", 1)
    subentry = immich_route(
        [album],
        destinations=["recorder"],
        media="none",
        title_template="{{ coalesced.count }} changes",
    )
    del subentry["data"]["coalesce_seconds"]  # stored before the option existed
    immich_entry(hass, v3, [subentry])
    await hass.config_entries.async_setup("immich_entry")
    await hass.async_block_till_done()
    v3.add_assets(album, 2)
    await poll(hass)
    for _ in range(2):
        freezer.tick(20)
        v3.add_assets(album, 1)
        await poll(hass)
    assert recorder.notifications == []
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=15))
    await hass.async_block_till_done()
    assert recorder.notifications == []
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=25))
    await hass.async_block_till_done()
    (notification,) = recorder.notifications
    assert notification.title == "3 changes"
    assert notification.message.startswith("4 new items in Family from Alice")
