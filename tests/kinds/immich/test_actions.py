"""Actions with the Immich source: refresh, send with immich_asset_id, diagnostics."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props
import voluptuous as vol

from custom_components.notify_bridge.const import DOMAIN
from custom_components.notify_bridge.kinds.immich.actions import async_fetch_asset
from custom_components.notify_bridge.pipeline.models import MediaType
from custom_components.notify_bridge.sources.immich import media as media_module
from tests.conftest import DEMO_ENTITY
from tests.fakes.immich_server import API_KEY, FakeImmichServer

from .conftest import (
    IMMICH_ENTRY_ID,
    coordinator,
    immich_entry,
    immich_route,
    messages,
    setup_all,
)

MISSING = "0a0a0a0a-0000-4000-8000-000000000000"


async def test_refresh_action(
    hass: HomeAssistant, target_entry: Any, v3: FakeImmichServer
) -> None:
    """refresh polls every polling source, or the chosen ones; errors are translated."""
    album = v3.create_album("Family", 1)
    immich_entry(hass, v3, [immich_route([album])])
    immich_entry(hass, v3, [], entry_id="second")
    hass.config_entries.async_update_entry(
        hass.config_entries.async_get_entry("second"), unique_id="second"
    )
    await setup_all(hass)
    v3.add_assets(album, 1)
    v3.reset_counters()
    await hass.services.async_call(DOMAIN, "refresh", {}, blocking=True)
    await hass.async_block_till_done()
    assert v3.paths["/api/albums"] == 2
    assert len(messages(hass)) == 1

    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "refresh", {"config_entry_id": "target_entry"}, blocking=True
        )
    assert err.value.translation_key == "not_a_polled_source"

    v3.fail(500, path="/api/albums")
    with pytest.raises(HomeAssistantError) as failed:
        await hass.services.async_call(
            DOMAIN, "refresh", {"config_entry_id": [IMMICH_ENTRY_ID]}, blocking=True
        )
    assert failed.value.translation_key == "refresh_failed"
    assert not coordinator(hass).last_update_success


async def test_refresh_reports_what_it_found(
    hass: HomeAssistant, target_entry: Any, v3: FakeImmichServer
) -> None:
    """With a response, refresh says per source what the poll routed and why it
    failed; what waits for a coalescing window is counted too."""
    album = v3.create_album("Family", 1)
    immich_entry(hass, v3, [immich_route([album])])
    await setup_all(hass)
    v3.add_assets(album, 2)
    response = await hass.services.async_call(
        DOMAIN, "refresh", {}, blocking=True, return_response=True
    )
    report = response["sources"][IMMICH_ENTRY_ID]
    assert report["ok"] is True
    assert report["error"] is None
    assert report["found"] == 1  # one "assets added" change of the album
    assert isinstance(response["held_for_coalescing"], int)

    v3.fail(500, path="/api/albums")
    response = await hass.services.async_call(
        DOMAIN, "refresh", {}, blocking=True, return_response=True
    )
    report = response["sources"][IMMICH_ENTRY_ID]
    assert report["ok"] is False
    assert "500" in report["error"]  # says why, not just which
    v3.fail(500, path="/api/albums")
    with pytest.raises(HomeAssistantError) as failed:
        await hass.services.async_call(DOMAIN, "refresh", {}, blocking=True)
    assert report["title"] in failed.value.translation_placeholders["sources"]
    assert "500" in failed.value.translation_placeholders["sources"]


async def test_send_with_immich_asset(
    hass: HomeAssistant, target_entry: Any, server: FakeImmichServer
) -> None:
    """send fetches an asset from the Immich source that has it."""
    album = server.create_album("Family", 2)
    asset_id = server.albums[album].asset_ids[0]
    immich_entry(hass, server, [])
    await setup_all(hass)
    response = await hass.services.async_call(
        DOMAIN,
        "send",
        {
            "entity_id": DEMO_ENTITY,
            "message": "Look",
            "media": [
                {"immich_asset_id": asset_id},
                {"url": "https://example.com/a.jpg"},
            ],
        },
        blocking=True,
        return_response=True,
    )
    assert response["status"] == "ok"
    assert response["summary"]["results"][0]["media_skipped"] == 2
    assert server.paths[f"/api/assets/{asset_id}/thumbnail"] == 1

    item = await async_fetch_asset(
        hass, _immich_entries(hass), asset_id, MediaType.DOCUMENT
    )
    assert item.type is MediaType.DOCUMENT
    assert item.identity == f"immich:{asset_id}:original"
    assert item.data == b"o" * 2048


async def test_send_with_immich_asset_errors(
    hass: HomeAssistant,
    target_entry: Any,
    v3: FakeImmichServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Unknown, too large, unreachable and malformed asset ids fail clearly."""
    album = v3.create_album("Family", 1)
    video = v3.add_assets(album, 1, type="VIDEO")[0]
    immich_entry(hass, v3, [])
    await setup_all(hass)

    async def send(asset_id: str, media_type: str = "photo") -> None:
        await hass.services.async_call(
            DOMAIN,
            "send",
            {
                "entity_id": DEMO_ENTITY,
                "message": "Look",
                "media": [{"immich_asset_id": asset_id, "type": media_type}],
            },
            blocking=True,
        )

    with pytest.raises(ServiceValidationError) as err:
        await send(MISSING)
    assert err.value.translation_key == "immich_asset_not_found"

    with pytest.raises(vol.Invalid):
        await send("../../server/version")

    monkeypatch.setattr(media_module, "MAX_LARGE_BYTES", 10)
    with pytest.raises(ServiceValidationError) as err:
        await send(video, "video")
    assert err.value.translation_key == "immich_media_too_large"

    v3.fail(500, path=f"/api/assets/{video}/video/playback")
    with pytest.raises(HomeAssistantError) as failed:
        await send(video, "video")
    assert failed.value.translation_key == "immich_download_failed"

    v3.api_key = "rotated"
    with pytest.raises(HomeAssistantError) as failed:
        await send(video, "video")
    assert failed.value.translation_key == "immich_download_failed"
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]


async def test_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    target_entry: Any,
    v3: FakeImmichServer,
    snapshot: SnapshotAssertion,
) -> None:
    """Diagnostics of an Immich entry show its routes, never its API key."""
    album = v3.create_album("Family", 2)
    entry = immich_entry(hass, v3, [immich_route([album])])
    await setup_all(hass)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert API_KEY not in str(diagnostics)
    assert diagnostics["entry"]["data"]["url"] == v3.url
    diagnostics["entry"]["data"]["url"] = "http://immich.test"
    assert diagnostics == snapshot(
        exclude=props("dispatches", "started_at", "duration_ms", "last_reconcile")
    )


def _immich_entries(hass: HomeAssistant) -> list:
    """The loaded Immich entries, as the send action finds them."""
    return [
        entry
        for entry in hass.config_entries.async_loaded_entries("notify_bridge")
        if entry.data["kind"] == "immich"
    ]
