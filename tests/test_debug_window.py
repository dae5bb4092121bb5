"""notify_bridge.debug: DEBUG for one area, for a bounded time, reverting by itself."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
import json
import logging
from pathlib import Path
from typing import Any

from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
import yaml

from custom_components.notify_bridge.catalog import KINDS
from custom_components.notify_bridge.const import DOMAIN
from custom_components.notify_bridge.debug_window import (
    AREA_LOGGERS,
    ISSUE_DEBUG_WINDOW,
    area_loggers,
)

ROOT = Path(__file__).parents[1] / "custom_components" / "notify_bridge"
PACKAGE = "custom_components.notify_bridge"
PIPELINE = f"{PACKAGE}.pipeline"
TELEGRAM = f"{PACKAGE}.targets.telegram"


@pytest.fixture
def levels() -> Iterator[dict[str, int]]:
    """Own levels of the loggers the tests touch, set and restored around a test."""
    names = [PACKAGE, PIPELINE, TELEGRAM, f"{PACKAGE}.kinds.telegram", "telegram"]
    saved = {name: logging.getLogger(name).level for name in names}
    # A user's own choice the window must give back exactly (not NOTSET, not DEBUG).
    logging.getLogger(PIPELINE).setLevel(logging.WARNING)
    yield {name: logging.getLogger(name).level for name in names}
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


async def debug(hass: HomeAssistant, **data: Any) -> dict[str, Any]:
    """Call the action and return its response."""
    response = await hass.services.async_call(
        DOMAIN, "debug", data, blocking=True, return_response=True
    )
    assert isinstance(response, dict)
    return response


def notice(hass: HomeAssistant) -> ir.IssueEntry | None:
    """The repair notice of the debug window, if shown."""
    return ir.async_get(hass).async_get_issue(DOMAIN, ISSUE_DEBUG_WINDOW)


def level(name: str) -> int:
    """The logger's own level."""
    return logging.getLogger(name).level


@pytest.mark.usefixtures("setup_integration")
async def test_on_then_off_by_itself(
    hass: HomeAssistant, levels: dict[str, int]
) -> None:
    """An area goes to DEBUG with a notice, and back at its end time."""
    start = dt_util.utcnow()
    response = await debug(hass, area="pipeline", duration={"minutes": 10})
    assert level(PIPELINE) == logging.DEBUG
    assert logging.getLogger(f"{PIPELINE}.engine").isEnabledFor(logging.DEBUG)
    # Only that area: Telegram stays as it was.
    assert level(TELEGRAM) == levels[TELEGRAM]
    assert response["areas"] == ["pipeline"]
    until = dt_util.parse_datetime(response["until"])
    assert until is not None
    assert timedelta(minutes=10) <= until - start < timedelta(minutes=10, seconds=5)
    issue = notice(hass)
    assert issue is not None
    assert issue.severity is ir.IssueSeverity.WARNING
    assert not issue.is_fixable
    assert issue.translation_placeholders == {
        "areas": "pipeline",
        "until": dt_util.as_local(until).strftime("%Y-%m-%d %H:%M:%S"),
    }
    async_fire_time_changed(hass, start + timedelta(minutes=9))
    await hass.async_block_till_done()
    assert level(PIPELINE) == logging.DEBUG
    async_fire_time_changed(hass, start + timedelta(minutes=10, seconds=10))
    await hass.async_block_till_done()
    assert level(PIPELINE) == logging.WARNING
    assert notice(hass) is None


@pytest.mark.usefixtures("setup_integration")
async def test_starting_again_extends_never_stacks(
    hass: HomeAssistant, levels: dict[str, int]
) -> None:
    """A second call sets a new end and adds its area; levels come back once, as
    they were before the first call (not DEBUG, as a stacked window would leave)."""
    start = dt_util.utcnow()
    await debug(hass, area="pipeline", duration={"minutes": 10})
    response = await debug(hass, area="telegram", duration={"minutes": 30})
    await debug(hass, area="pipeline", duration={"minutes": 30})
    assert response["areas"] == ["pipeline", "telegram"]
    assert {level(name) for name in area_loggers("telegram")} == {logging.DEBUG}
    issues = [
        issue
        for (domain, _), issue in ir.async_get(hass).issues.items()
        if domain == DOMAIN and issue.issue_id == ISSUE_DEBUG_WINDOW
    ]
    assert len(issues) == 1
    assert issues[0].translation_placeholders["areas"] == "pipeline, telegram"
    # The first call's end passes: still on (its timer was replaced, not kept).
    async_fire_time_changed(hass, start + timedelta(minutes=11))
    await hass.async_block_till_done()
    assert level(PIPELINE) == logging.DEBUG
    async_fire_time_changed(hass, start + timedelta(minutes=31))
    await hass.async_block_till_done()
    for name, own in levels.items():
        assert level(name) == own, name
    assert notice(hass) is None


@pytest.mark.usefixtures("setup_integration")
async def test_default_is_everything_for_15_minutes(
    hass: HomeAssistant, levels: dict[str, int]
) -> None:
    """Without fields: the whole package, for 15 minutes."""
    start = dt_util.utcnow()
    response = await debug(hass)
    assert response["areas"] == ["all"]
    assert level(PACKAGE) == logging.DEBUG
    assert logging.getLogger(f"{PACKAGE}.kinds.immich.setup").isEnabledFor(
        logging.DEBUG
    )
    async_fire_time_changed(hass, start + timedelta(minutes=14))
    await hass.async_block_till_done()
    assert level(PACKAGE) == logging.DEBUG
    async_fire_time_changed(hass, start + timedelta(minutes=15, seconds=5))
    await hass.async_block_till_done()
    assert level(PACKAGE) == levels[PACKAGE]


async def test_ends_when_the_last_entry_unloads(
    hass: HomeAssistant,
    setup_integration: None,
    target_entry: MockConfigEntry,
    source_entry: MockConfigEntry,
    levels: dict[str, int],
) -> None:
    """Unloading one entry keeps it on; unloading the last one ends it."""
    await debug(hass, area="pipeline", duration={"hours": 2})
    assert await hass.config_entries.async_unload(source_entry.entry_id)
    assert level(PIPELINE) == logging.DEBUG
    assert await hass.config_entries.async_unload(target_entry.entry_id)
    await hass.async_block_till_done()
    assert level(PIPELINE) == logging.WARNING
    assert notice(hass) is None
    # Its timer went with it: nothing happens at the old end time.
    logging.getLogger(PIPELINE).setLevel(logging.ERROR)
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(hours=3))
    await hass.async_block_till_done()
    assert level(PIPELINE) == logging.ERROR


@pytest.mark.usefixtures("setup_integration")
async def test_ends_when_home_assistant_stops(
    hass: HomeAssistant, levels: dict[str, int]
) -> None:
    """Home Assistant stopping ends the window."""
    await debug(hass, area="telegram", duration={"minutes": 5})
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await hass.async_block_till_done()
    for name in area_loggers("telegram"):
        assert level(name) == levels[name]
    assert notice(hass) is None


@pytest.mark.usefixtures("setup_integration")
@pytest.mark.parametrize(
    ("data", "key", "placeholder"),
    [
        ({"area": "kernel"}, "debug_invalid_area", {"area": "kernel"}),
        ({"area": ""}, "debug_invalid_area", {"area": ""}),
        ({"duration": {"hours": 3}}, "debug_invalid_duration", {"max": "2:00:00"}),
        ({"duration": {"seconds": 0}}, "debug_invalid_duration", {}),
        ({"duration": {"minutes": -5}}, "debug_invalid_duration", {}),
    ],
)
async def test_invalid_area_or_duration(
    hass: HomeAssistant,
    levels: dict[str, int],
    data: dict[str, Any],
    key: str,
    placeholder: dict[str, str],
) -> None:
    """A bad request is refused with a translated error, and changes nothing."""
    with pytest.raises(ServiceValidationError) as err:
        await debug(hass, **data)
    assert err.value.translation_key == key
    assert placeholder.items() <= (err.value.translation_placeholders or {}).items()
    strings = json.loads((ROOT / "strings.json").read_text())
    message = strings["exceptions"][key]["message"]
    assert message.format(**(err.value.translation_placeholders or {}))
    assert level(PIPELINE) == logging.WARNING
    assert level(PACKAGE) == levels[PACKAGE]
    assert notice(hass) is None


def test_area_table() -> None:
    """Every kind has an area; the action's choices and labels are the table."""
    assert set(KINDS) <= set(AREA_LOGGERS)
    assert {"all", "pipeline", "telegram", "email", "immich"} <= set(AREA_LOGGERS)
    assert area_loggers("all") == (PACKAGE,)
    assert set(area_loggers("telegram")) == {
        TELEGRAM,
        f"{PACKAGE}.kinds.telegram",
        "telegram",
    }
    services = yaml.safe_load((ROOT / "services.yaml").read_text())
    options = services["debug"]["fields"]["area"]["selector"]["select"]["options"]
    assert options == list(AREA_LOGGERS)
    strings = json.loads((ROOT / "strings.json").read_text())
    assert set(strings["selector"]["debug_area"]["options"]) == set(AREA_LOGGERS)
    icons = json.loads((ROOT / "icons.json").read_text())
    assert icons["services"]["debug"]["service"]


def test_package_modules_belong_to_an_area() -> None:
    """Each module of a kind, a source or a target is in some area besides "all"
    (a new module must not be left out of its kind's debug window)."""
    prefixes = {
        name for area, names in AREA_LOGGERS.items() if area != "all" for name in names
    }
    missing = []
    for folder in ("pipeline", "sources", "targets", "kinds"):
        for path in (ROOT / folder).rglob("*.py"):
            module = "." + ".".join(path.relative_to(ROOT).with_suffix("").parts)
            module = module.removesuffix(".__init__")
            if module in (".sources", ".targets", ".kinds", ".kinds.shared"):
                continue
            if module.startswith(".kinds.shared."):
                continue  # shared glue, logged with its kind's modules
            if not any(module == p or module.startswith(f"{p}.") for p in prefixes):
                missing.append(module)
    assert missing == []
