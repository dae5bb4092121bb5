"""Fixtures of the Immich source tests: a real fake server and a real HA core."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from homeassistant.components import persistent_notification
from homeassistant.config_entries import ConfigSubentryDataWithId
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.notify_bridge.const import DOMAIN, ENTRY_VERSION
from custom_components.notify_bridge.kinds.immich.coordinator import ImmichCoordinator
from tests.common import typed
from tests.conftest import DEMO_ENTITY, route
from tests.fakes.immich_server import API_KEY, ME_ID, FakeImmichServer

IMMICH_ENTRY_ID = "immich_entry"
ROUTE_ID = "route_family"
ALL_EVENTS = [
    "assets_added",
    "assets_removed",
    "album_renamed",
    "album_deleted",
    "sharing_changed",
]


@pytest.fixture(params=[2, 3], ids=["v2", "v3"])
async def server(
    request: pytest.FixtureRequest, socket_enabled: None
) -> AsyncIterator[FakeImmichServer]:
    """A started fake Immich server of each major version."""
    fake = FakeImmichServer(version=request.param)
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
async def v3(socket_enabled: None) -> AsyncIterator[FakeImmichServer]:
    """A started fake Immich v3 server (for version-independent tests)."""
    fake = FakeImmichServer(version=3)
    await fake.start()
    yield fake
    await fake.close()


def route_data(albums: list[str], **overrides: Any) -> dict[str, Any]:
    """Return the data of an Immich route subentry."""
    data: dict[str, Any] = {
        "albums": albums,
        "events": ALL_EVENTS,
        "favorites_only": False,
        "asset_types": [],
        "people": [],
        "media": "thumbnail",
        "max_media": 10,
        "destinations": [DEMO_ENTITY],
        # Delivered at once unless a test asks for the window (Immich default: 60 s).
        "coalesce_seconds": 0,
    }
    data.update(overrides)
    return data


def immich_route(
    albums: list[str], subentry_id: str = ROUTE_ID, title: str = "Family", **kw: Any
) -> ConfigSubentryDataWithId:
    """Describe an Immich route subentry."""
    return route(subentry_id, title, route_data(albums, **kw))


def immich_entry(
    hass: HomeAssistant,
    fake: FakeImmichServer,
    routes: list[ConfigSubentryDataWithId],
    entry_id: str = IMMICH_ENTRY_ID,
) -> MockConfigEntry:
    """Add an Immich source entry for the fake server."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        version=ENTRY_VERSION,
        title="Alice @ 127.0.0.1",
        data={
            "kind": "immich",
            "url": fake.url,
            "api_key": API_KEY,
            "verify_ssl": True,
            "user_id": ME_ID,
        },
        unique_id=f"{ME_ID}@{fake.url}",
        entry_id=entry_id,
        subentries_data=typed("immich", routes),
    )
    entry.add_to_hass(hass)
    return entry


async def setup_all(hass: HomeAssistant) -> None:
    """Set up Notify Bridge with every entry added so far."""
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()


def messages(hass: HomeAssistant) -> list[str]:
    """Return the persistent notifications' messages, oldest first."""
    return [
        item["message"]
        for item in persistent_notification._async_get_or_create_notifications(
            hass
        ).values()
    ]


def coordinator(
    hass: HomeAssistant, entry_id: str = IMMICH_ENTRY_ID
) -> ImmichCoordinator:
    """Return the loaded coordinator of an entry."""
    return hass.config_entries.async_get_entry(entry_id).runtime_data.coordinator


async def poll(hass: HomeAssistant, entry_id: str = IMMICH_ENTRY_ID) -> None:
    """Poll now through the refresh action and wait for deliveries."""
    await hass.services.async_call(
        DOMAIN, "refresh", {"config_entry_id": entry_id}, blocking=True
    )
    await hass.async_block_till_done()


# The album route form as the frontend submits it: the first step's sections, and
# the second step (templates of the picked changes).
FORM_SECTIONS = {
    "filters": ("favorites_only", "asset_types", "people"),
    "delivery": ("media", "max_media", "coalesce_seconds", "digest"),
}


def route_form(
    album_ids: list[str], name: str = "Family", **overrides: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split route data into what the two steps of the route form submit."""
    first: dict[str, Any] = {"name": name, **route_data(album_ids), **overrides}
    templates = {
        key: first.pop(key)
        for key in list(first)
        if key.startswith("template_") or key in ("title_template", "preview_only")
    }
    for section, fields in FORM_SECTIONS.items():
        first[section] = {key: first.pop(key) for key in fields if key in first}
    return first, templates


async def submit_route_form(
    hass: HomeAssistant, flow_id: str, album_ids: list[str], **overrides: Any
) -> dict[str, Any]:
    """Submit both steps of a route form; return the result of the last one."""
    first, templates = route_form(album_ids, **overrides)
    result = await hass.config_entries.subentries.async_configure(flow_id, first)
    if result.get("step_id") != "templates":
        return dict(result)
    return dict(
        await hass.config_entries.subentries.async_configure(flow_id, templates)
    )
