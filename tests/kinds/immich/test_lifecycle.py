"""The Immich source over time: hold-back, restarts, failures, repairs, big albums."""

from __future__ import annotations

from datetime import timedelta
import logging
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.repairs import repairs_flow_manager
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest

from custom_components.notify_bridge.const import DOMAIN
from custom_components.notify_bridge.kinds.immich.coordinator import (
    FAILURES_BEFORE_ISSUE,
    album_issue_id,
    store_key,
    unreachable_issue_id,
)
from tests.fakes.immich_server import FakeImmichServer

from .conftest import (
    IMMICH_ENTRY_ID,
    ROUTE_ID,
    coordinator,
    immich_entry,
    immich_route,
    messages,
    poll,
    setup_all,
)


async def test_processing_assets_are_held_until_ready(
    hass: HomeAssistant,
    target_entry: Any,
    server: FakeImmichServer,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Still-processing assets are reported once ready, or after the timeout."""
    album = server.create_album("Holiday", 1)
    immich_entry(hass, server, [immich_route([album])])
    await setup_all(hass)

    ready_later = server.add_assets(album, 2, processing=True)
    await poll(hass)
    assert messages(hass) == []
    await poll(hass)
    assert messages(hass) == []

    server.mark_ready(ready_later)
    await poll(hass)
    assert len(messages(hass)) == 1
    assert messages(hass)[0].startswith("2 new items in Holiday")
    for asset_id in ready_later:
        assert server.paths[f"/api/assets/{asset_id}/thumbnail"] == 1

    # Never ready: reported without media once the processing timeout passed.
    stuck = server.add_assets(album, 1, processing=True)
    await poll(hass)
    assert len(messages(hass)) == 1
    freezer.tick(timedelta(minutes=11))
    await poll(hass)
    assert len(messages(hass)) == 2
    assert messages(hass)[1].startswith("1 new item in Holiday")
    assert server.paths[f"/api/assets/{stuck[0]}/thumbnail"] == 0
    await poll(hass)
    assert len(messages(hass)) == 2


async def test_changes_while_down_are_reported_exactly_once(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    target_entry: Any,
    server: FakeImmichServer,
) -> None:
    """Unload, change the album, load again: reported once, and never again."""
    album = server.create_album("Holiday", 3)
    entry = immich_entry(hass, server, [immich_route([album])])
    await setup_all(hass)
    server.add_assets(album, 1)
    await poll(hass)
    assert len(messages(hass)) == 1

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    stored = hass_storage[store_key(entry.entry_id)]["data"]
    assert album in stored["albums"]

    server.add_assets(album, 2)
    server.rename_album(album, "Holiday 2025")
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    texts = messages(hass)
    assert len(texts) == 3
    assert "Album Holiday is now called Holiday 2025" in texts[1:]
    assert sum(text.startswith("2 new items") for text in texts[1:]) == 1

    await poll(hass)
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    await poll(hass)
    assert len(messages(hass)) == 3


async def test_unreadable_store_starts_afresh(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    target_entry: Any,
    v3: FakeImmichServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A broken stored state is logged and replaced by a new baseline."""
    album = v3.create_album("Holiday", 3)
    hass_storage[store_key(IMMICH_ENTRY_ID)] = {
        "version": 1,
        "minor_version": 1,
        "key": store_key(IMMICH_ENTRY_ID),
        "data": {"version": 99},
    }
    immich_entry(hass, v3, [immich_route([album])])
    await setup_all(hass)
    assert "starting afresh" in caplog.text
    assert messages(hass) == []


async def test_big_album(
    hass: HomeAssistant, target_entry: Any, server: FakeImmichServer
) -> None:
    """An album of 5,000 assets: baseline silently, then exactly the new ones."""
    album = server.create_album("Everything", 5000)
    immich_entry(hass, server, [immich_route([album], media="none")])
    await setup_all(hass)
    assert messages(hass) == []
    server.add_assets(album, 5)
    server.reset_counters()
    await poll(hass)
    assert messages(hass)[0].startswith("5 new items in Everything")
    server.reset_counters()
    await poll(hass)
    assert server.requests == 1
    assert len(messages(hass)) == 1


async def test_failure_repair_recovery(
    hass: HomeAssistant,
    target_entry: Any,
    v3: FakeImmichServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Repeated failures raise a repair issue (logged once); recovery clears it."""
    album = v3.create_album("One", 1)
    immich_entry(hass, v3, [immich_route([album])])
    await setup_all(hass)
    registry = ir.async_get(hass)
    issue_id = unreachable_issue_id(IMMICH_ENTRY_ID)
    v3.fail(500, path="/api/albums", times=FAILURES_BEFORE_ISSUE + 1)
    caplog.clear()
    for _ in range(FAILURES_BEFORE_ISSUE):
        await coordinator(hass).async_refresh()
    assert registry.async_get_issue(DOMAIN, issue_id) is not None
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1

    await coordinator(hass).async_refresh()  # the last injected failure
    v3.add_assets(album, 1)
    await poll(hass)
    assert registry.async_get_issue(DOMAIN, issue_id) is None
    assert len(messages(hass)) == 1


async def test_malformed_answers_never_crash(
    hass: HomeAssistant,
    target_entry: Any,
    v3: FakeImmichServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Garbage and wrong shapes fail the poll, are logged once, then it recovers."""
    album = v3.create_album("One", 1)
    immich_entry(hass, v3, [immich_route([album])])
    await setup_all(hass)
    caplog.clear()
    v3.garbage(path="/api/albums")
    v3.wrong_shape(path="/api/albums", body=[{"id": "x"}])
    await coordinator(hass).async_refresh()
    await coordinator(hass).async_refresh()
    assert not coordinator(hass).last_update_success
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "unexpected answer" in errors[0].getMessage()
    v3.add_assets(album, 1)
    await poll(hass)
    assert coordinator(hass).last_update_success
    assert len(messages(hass)) == 1


async def test_deleted_album_repair_removes_it_from_the_route(
    hass: HomeAssistant, target_entry: Any, v3: FakeImmichServer
) -> None:
    """A deleted album raises a fixable issue; fixing it edits the route."""
    kept = v3.create_album("Kept", 1)
    gone = v3.create_album("Gone", 1)
    entry = immich_entry(
        hass,
        v3,
        [
            immich_route([kept, gone]),
            immich_route([gone], subentry_id="route_only_gone", title="Only gone"),
        ],
    )
    await setup_all(hass)
    assert await async_setup_component(hass, "repairs", {})
    v3.delete_album(gone)
    await poll(hass)
    registry = ir.async_get(hass)
    first = album_issue_id(IMMICH_ENTRY_ID, ROUTE_ID, gone)
    second = album_issue_id(IMMICH_ENTRY_ID, "route_only_gone", gone)
    issue = registry.async_get_issue(DOMAIN, first)
    assert issue is not None
    assert issue.is_fixable
    assert issue.translation_placeholders == {"album": "Gone", "route": "Family"}

    manager = repairs_flow_manager(hass)
    result = await manager.async_init(DOMAIN, data={"issue_id": first})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "confirm"
    assert result["description_placeholders"] == {"album": "Gone", "route": "Family"}
    result = await manager.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.subentries[ROUTE_ID].data["albums"] == [kept]
    assert registry.async_get_issue(DOMAIN, first) is None

    # The last album of a route: the route goes.
    result = await manager.async_init(DOMAIN, data={"issue_id": second})
    result = await manager.async_configure(result["flow_id"], {})
    await hass.async_block_till_done()
    assert "route_only_gone" not in entry.subentries
    assert registry.async_get_issue(DOMAIN, second) is None
    assert entry.state is ConfigEntryState.LOADED
    ent_reg = er.async_get(hass)
    assert (
        ent_reg.async_get_entity_id(
            "sensor", DOMAIN, f"{IMMICH_ENTRY_ID}_route_only_gone_asset_count"
        )
        is None
    )


async def test_repair_of_a_route_already_gone(
    hass: HomeAssistant, target_entry: Any, v3: FakeImmichServer
) -> None:
    """A fix flow for a route removed meanwhile aborts; stale issues are cleaned."""
    album = v3.create_album("Gone", 1)
    entry = immich_entry(hass, v3, [immich_route([album])])
    await setup_all(hass)
    assert await async_setup_component(hass, "repairs", {})
    v3.delete_album(album)
    await poll(hass)
    issue_id = album_issue_id(IMMICH_ENTRY_ID, ROUTE_ID, album)
    manager = repairs_flow_manager(hass)
    result = await manager.async_init(DOMAIN, data={"issue_id": issue_id})
    hass.config_entries.async_remove_subentry(entry, ROUTE_ID)
    result = await manager.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "route_gone"
    await hass.async_block_till_done()
    # The reload after the removal forgot the issue of the vanished route.
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None


async def test_down_at_start_up_raises_the_issue_too(
    hass: HomeAssistant, target_entry: Any, v3: FakeImmichServer
) -> None:
    """Failed set-up attempts count; recovery loads the entry and clears the issue."""
    album = v3.create_album("One", 1)
    entry = immich_entry(hass, v3, [immich_route([album])])
    v3.fail(500, path="/api/albums", times=FAILURES_BEFORE_ISSUE)
    await setup_all(hass)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    for _ in range(FAILURES_BEFORE_ISSUE - 1):
        await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
    registry = ir.async_get(hass)
    issue_id = unreachable_issue_id(IMMICH_ENTRY_ID)
    assert registry.async_get_issue(DOMAIN, issue_id) is not None
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert registry.async_get_issue(DOMAIN, issue_id) is None


async def test_issues_of_removed_entries_are_cleaned(
    hass: HomeAssistant, target_entry: Any, v3: FakeImmichServer
) -> None:
    """An issue left by a removed Immich entry goes when another one loads."""
    ir.async_create_issue(
        hass,
        DOMAIN,
        unreachable_issue_id("removed_entry"),
        is_fixable=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key="immich_unreachable",
        data={"entry_id": "removed_entry"},
    )
    immich_entry(hass, v3, [])
    await setup_all(hass)
    assert (
        ir.async_get(hass).async_get_issue(
            DOMAIN, unreachable_issue_id("removed_entry")
        )
        is None
    )
