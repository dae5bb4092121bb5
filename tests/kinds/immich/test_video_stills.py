"""Videos come with their thumbnail and link: what a target shows when it cannot
take the video (issue 3: "the item's thumbnail ... with a link", never bare text)."""

from __future__ import annotations

from types import SimpleNamespace

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest

from custom_components.notify_bridge.const import DOMAIN
from custom_components.notify_bridge.kinds.immich.actions import async_fetch_asset
from custom_components.notify_bridge.kinds.telegram import setup as telegram_kind
from custom_components.notify_bridge.pipeline.models import MediaType
from custom_components.notify_bridge.sources.immich import media as media_module
from custom_components.notify_bridge.targets.telegram import RetryPolicy
from tests.common import RecordingDestination
from tests.fakes.immich_server import FakeImmichServer
from tests.fakes.telegram_server import FakeTelegramServer
from tests.kinds.telegram.conftest import (
    BOT_ID,
    BOT_USERNAME,
    FAST,
    PRIVATE_DEST_ID,
    PRIVATE_ENTITY,
    telegram_entry,
    tg_destination,
)

from .conftest import immich_entry, immich_route, poll

# What the fake answers for a thumbnail (a JPEG marker and filler).
FAKE_THUMBNAIL = b"\xff\xd8" + b"t" * 3_998


async def _watch(hass: HomeAssistant, server: FakeImmichServer, *routes: dict) -> str:
    album = server.create_album("Holiday", 1)
    immich_entry(
        hass,
        server,
        [immich_route([album], subentry_id=f"r{i}", **r) for i, r in enumerate(routes)],
    )
    await hass.config_entries.async_setup("immich_entry")
    await hass.async_block_till_done()
    return album


async def test_video_carries_its_thumbnail_and_link(
    hass: HomeAssistant, recorder: RecordingDestination, v3: FakeImmichServer
) -> None:
    """The video item has the thumbnail bytes and the asset's link; one still per poll."""
    album = await _watch(
        hass,
        v3,
        {"destinations": ["recorder"], "media": "original"},
        {"destinations": ["recorder"], "media": "thumbnail", "title": "Stills"},
    )
    (video,) = v3.add_assets(album, 1, type="VIDEO")
    await poll(hass)

    by_type = {item.type: item for n in recorder.notifications for item in n.media}
    clip = by_type[MediaType.VIDEO]
    assert clip.identity == f"immich:{video}:playback"
    assert clip.data == b"v" * 2048
    assert clip.thumbnail == FAKE_THUMBNAIL
    assert clip.url == f"{v3.url}/photos/{video}"
    # The other route's still is the same download.
    assert by_type[MediaType.PHOTO].data == FAKE_THUMBNAIL
    assert v3.paths[f"/api/assets/{video}/thumbnail"] == 1


async def test_video_too_big_to_fetch_goes_as_its_still(
    hass: HomeAssistant,
    recorder: RecordingDestination,
    v3: FakeImmichServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Over the download bound, the video is not dropped: its still and link go."""
    monkeypatch.setattr(media_module, "MAX_LARGE_BYTES", 1_000)
    album = await _watch(hass, v3, {"destinations": ["recorder"], "media": "original"})
    (video,) = v3.add_assets(album, 1, type="VIDEO")
    (photo,) = v3.add_assets(album, 1)
    v3.assets[photo].original_size = 5_000
    await poll(hass)

    (notification,) = recorder.notifications
    (item,) = notification.media  # the photo over the bound is still left out
    assert item.type is MediaType.PHOTO
    assert item.data == FAKE_THUMBNAIL
    assert item.identity == f"immich:{video}:thumbnail"
    assert item.url == f"{v3.url}/photos/{video}"
    assert item.filename is not None and item.filename.endswith(".jpg")


async def test_video_over_the_telegram_limit_arrives_as_thumbnail_with_link(
    hass: HomeAssistant,
    v3: FakeImmichServer,
    socket_enabled: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """End to end: Immich video of 2 MB, Telegram limit 1 MB: still, link, reason."""
    monkeypatch.setattr(telegram_kind, "RATE_LIMITS", FAST)
    monkeypatch.setattr(telegram_kind, "SEND_RETRY", RetryPolicy(base_delay=0.001))
    async with FakeTelegramServer(bot_id=BOT_ID, username=BOT_USERNAME) as tg:
        tg_entry = telegram_entry(
            hass, tg, [tg_destination(PRIVATE_DEST_ID, "Ann", 42)], max_upload_mb=1
        )
        assert await async_setup_component(hass, DOMAIN, {})
        await hass.async_block_till_done()
        album = await _watch(
            hass, v3, {"destinations": [PRIVATE_ENTITY], "media": "original"}
        )
        (video,) = v3.add_assets(album, 1, type="VIDEO")
        v3.assets[video].original_size = 2 * 1024 * 1024
        await poll(hass)

        sends = {call.method: call for call in tg.messages}
        assert sorted(sends) == ["sendMessage", "sendPhoto"]
        notice = sends["sendPhoto"]
        assert FAKE_THUMBNAIL in notice.files.values()
        assert f"{v3.url}/photos/{video}" in notice.params["caption"]
        assert "over the 1.0 MB video limit" in notice.params["caption"]
        assert "1 new item in Holiday" in sends["sendMessage"].params["text"]
        assert tg.spec_violations == []
        if tg_entry.state is ConfigEntryState.LOADED:
            assert await hass.config_entries.async_unload(tg_entry.entry_id)
            await hass.async_block_till_done()


async def test_failed_video_and_missing_still(
    hass: HomeAssistant,
    recorder: RecordingDestination,
    v3: FakeImmichServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A failed video download costs no still; a too-big video without one is left
    out (the text still goes); a video without its still keeps its link."""
    album = await _watch(hass, v3, {"destinations": ["recorder"], "media": "original"})
    (broken,) = v3.add_assets(album, 1, type="VIDEO")
    v3.fail(500, path=f"/api/assets/{broken}/video/playback")
    await poll(hass)
    assert recorder.notifications[-1].media == ()
    assert v3.paths[f"/api/assets/{broken}/thumbnail"] == 0

    (stillless,) = v3.add_assets(album, 1, type="VIDEO")
    v3.fail(500, path=f"/api/assets/{stillless}/thumbnail")
    await poll(hass)
    (item,) = recorder.notifications[-1].media
    assert (item.type, item.thumbnail) == (MediaType.VIDEO, None)
    assert item.url == f"{v3.url}/photos/{stillless}"

    monkeypatch.setattr(media_module, "MAX_LARGE_BYTES", 1_000)
    (big,) = v3.add_assets(album, 1, type="VIDEO")
    v3.fail(500, path=f"/api/assets/{big}/thumbnail")
    await poll(hass)
    assert recorder.notifications[-1].media == ()
    assert len(recorder.notifications) == 3


def test_still_name() -> None:
    """The still of "clip.mov" is named "clip.jpg"; no name, no file name."""
    asset = SimpleNamespace(file_name="trip/clip.mov")
    assert media_module._still_name(asset) == "clip.jpg"  # type: ignore[arg-type]
    assert media_module._still_name(SimpleNamespace(file_name="")) is None  # type: ignore[arg-type]


async def test_send_action_video_has_its_still(
    hass: HomeAssistant, recorder: RecordingDestination, v3: FakeImmichServer
) -> None:
    """`send` with an Immich video: the item carries its still and link too."""
    album = await _watch(hass, v3, {"destinations": ["recorder"]})
    (video,) = v3.add_assets(album, 1, type="VIDEO")
    item = await async_fetch_asset(hass, _immich_entries(hass), video, MediaType.VIDEO)
    assert (item.type, item.data) == (MediaType.VIDEO, b"v" * 2048)
    assert item.thumbnail == FAKE_THUMBNAIL
    assert item.url == f"{v3.url}/photos/{video}"
    assert item.filename == f"{video}.mp4"
    v3.fail(500, path=f"/api/assets/{video}/thumbnail")
    item = await async_fetch_asset(hass, _immich_entries(hass), video, MediaType.VIDEO)
    assert item.thumbnail is None
    assert item.data == b"v" * 2048


def _immich_entries(hass: HomeAssistant) -> list:
    """The loaded Immich entries, as the send action finds them."""
    return [
        entry
        for entry in hass.config_entries.async_loaded_entries("notify_bridge")
        if entry.data["kind"] == "immich"
    ]
