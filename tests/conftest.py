"""Shared fixtures: a home_assistant target and an ha_events source, set up for real."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterator
from functools import partial
import logging
from typing import Any
from unittest.mock import patch
import warnings

from aiohttp.resolver import AsyncResolver
from homeassistant.config_entries import ConfigSubentryDataWithId
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.setup import async_setup_component
import pytest
import pytest_asyncio
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion

# Imported at module level, before Home Assistant mounts its test config dir, or HA
# reports "Integration not found".
import custom_components.notify_bridge  # noqa: F401
from custom_components.notify_bridge import hub as hub_module
from custom_components.notify_bridge.const import DOMAIN, ENTRY_VERSION
from custom_components.notify_bridge.pipeline.policy import DeliveryPolicy, RetryPolicy
from custom_components.notify_bridge.runtime import DATA_HUB, DestinationRuntime
from tests.common import RecordingDestination, enable_statistics, typed

from .deprecations import own_deprecation, own_deprecation_log

TARGET_ENTRY_ID = "target_entry"
SOURCE_ENTRY_ID = "source_entry"
DEMO_DESTINATION_ID = "dest_demo"
DEMO_ROUTE_ID = "route_demo"
DEMO_ENTITY = "notify.demo_notifications"
DEMO_EVENT = "notify_bridge_demo"


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshots with Home Assistant's serializer, in `snapshots/` beside the tests.

    The same on every supported test plugin (newer ones stopped applying it).
    """
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/ in every test."""


# Session-scoped and async like the plugin's fixture it replaces: older test plugins
# rely on it to make the session's event loop current before each test.
@pytest_asyncio.fixture(autouse=True, scope="session", loop_scope="session")
async def mock_zeroconf_resolver() -> AsyncGenerator[Any]:
    """A DNS resolver made on the event loop of the test that asks for it.

    The test plugin's resolver is made once per session, bound to the first test's
    loop; a later test that resolves a name (an Immich server at "localhost") then
    fails with "attached to a different loop". Home Assistant closes it at its stop.
    """

    def make_resolver(_hass: HomeAssistant) -> AsyncResolver:
        resolver = AsyncResolver()
        resolver.real_close = resolver.close  # type: ignore[attr-defined]
        return resolver

    patcher = patch(
        "homeassistant.helpers.aiohttp_client._async_make_resolver",
        side_effect=make_resolver,
    )
    patcher.start()
    yield patcher
    patcher.stop()


@pytest.fixture(autouse=True)
def no_deprecations(caplog: pytest.LogCaptureFixture) -> Any:
    """Fail a test whose code path raises a deprecation this project caused."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    found = [
        f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})"
        for w in caught
        if own_deprecation(w)
    ]
    found += [
        f"log {record.name}: {record.getMessage()}"
        for phase in ("setup", "call")
        for record in caplog.get_records(phase)
        if own_deprecation_log(record)
    ]
    if found:
        pytest.fail("Deprecations caused by Notify Bridge:\n" + "\n".join(found))


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the policy's retry backoff, but in milliseconds instead of seconds."""
    monkeypatch.setattr(
        hub_module,
        "DeliveryPolicy",
        partial(
            DeliveryPolicy,
            retry=RetryPolicy(base_delay=0.001, max_delay=0.004, budget=1.0),
        ),
    )


def destination(
    subentry_id: str, title: str, data: dict[str, Any], unique_id: str | None = None
) -> ConfigSubentryDataWithId:
    """Describe a destination subentry."""
    return ConfigSubentryDataWithId(
        subentry_id=subentry_id,
        subentry_type="notification_target",
        title=title,
        unique_id=unique_id or data["delivery"],
        data=data,
    )


def route(
    subentry_id: str, title: str, data: dict[str, Any]
) -> ConfigSubentryDataWithId:
    """Describe a route subentry."""
    return ConfigSubentryDataWithId(
        subentry_id=subentry_id,
        subentry_type="event_route",
        title=title,
        unique_id=None,
        data=data,
    )


@pytest.fixture
def destinations() -> list[ConfigSubentryDataWithId]:
    """Destinations of the target entry; tests may override this fixture."""
    return [
        destination(
            DEMO_DESTINATION_ID,
            "Demo notifications",
            {"delivery": "persistent_notification"},
        )
    ]


@pytest.fixture
def routes() -> list[ConfigSubentryDataWithId]:
    """Routes of the source entry; tests may override this fixture."""
    return [
        route(
            DEMO_ROUTE_ID,
            "Demo route",
            {
                "event_type": DEMO_EVENT,
                "event_data": {},
                "destinations": [DEMO_ENTITY],
                "template": "{{ data.message | default('Demo event received') }}",
                "title_template": "Notify Bridge demo",
            },
        )
    ]


@pytest.fixture
def target_entry(
    hass: HomeAssistant, destinations: list[ConfigSubentryDataWithId]
) -> MockConfigEntry:
    """The home_assistant target entry."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        version=ENTRY_VERSION,
        title="Home Assistant",
        data={"kind": "home_assistant"},
        unique_id="home_assistant",
        entry_id=TARGET_ENTRY_ID,
        subentries_data=typed("home_assistant", destinations),
    )
    entry.add_to_hass(hass)
    enable_statistics(hass, entry)
    return entry


@pytest.fixture
def source_entry(
    hass: HomeAssistant, routes: list[ConfigSubentryDataWithId]
) -> MockConfigEntry:
    """The ha_events source entry."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        version=ENTRY_VERSION,
        title="Home Assistant events",
        data={"kind": "ha_events"},
        unique_id="ha_events",
        entry_id=SOURCE_ENTRY_ID,
        subentries_data=typed("ha_events", routes),
    )
    entry.add_to_hass(hass)
    return entry


@pytest.fixture
async def setup_integration(
    hass: HomeAssistant, target_entry: MockConfigEntry, source_entry: MockConfigEntry
) -> None:
    """Set up Notify Bridge with both entries."""
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()


@pytest.fixture
def legacy_notify_calls(hass: HomeAssistant) -> list[ServiceCall]:
    """A legacy notify service `notify.phone` that records its calls."""
    calls: list[ServiceCall] = []

    async def handle(call: ServiceCall) -> None:
        calls.append(call)

    hass.services.async_register("notify", "phone", handle)
    return calls


@pytest.fixture
async def recorder(hass: HomeAssistant) -> RecordingDestination:
    """One recording destination known to the hub (routes name it "recorder")."""
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    destination = RecordingDestination()
    hass.data[DATA_HUB].register_destination(
        DestinationRuntime(destination=destination, entry_id="tests")
    )
    return destination


@pytest.fixture
def every_logger_at_debug(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Every logger that exists (and the root) at DEBUG, restored afterwards."""
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.root.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    caplog.set_level(logging.DEBUG)
    yield
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)
