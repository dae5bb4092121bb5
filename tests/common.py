"""Helpers every kind's tests share: entries, subentries and flows of a kind."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import SOURCE_USER, ConfigSubentryDataWithId
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from homeassistant.util import slugify
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.notify_bridge.catalog import KINDS
from custom_components.notify_bridge.const import DOMAIN, ENTRY_VERSION
from custom_components.notify_bridge.net import UrlPolicy
from custom_components.notify_bridge.pipeline.models import (
    DeliveryResult,
    Notification,
    OutputFormat,
)
from custom_components.notify_bridge.targets.telegram import RateLimits


def subentry(
    kind: str,
    subentry_id: str,
    title: str,
    data: dict[str, Any],
    unique_id: str | None = None,
) -> ConfigSubentryDataWithId:
    """Describe a subentry of a kind (a chat, an album route, ...)."""
    return ConfigSubentryDataWithId(
        subentry_id=subentry_id,
        subentry_type=KINDS[kind].subentry_type,
        title=title,
        unique_id=unique_id,
        data=data,
    )


def kind_entry(
    hass: HomeAssistant,
    kind: str,
    *,
    data: dict[str, Any] | None = None,
    subentries: list[ConfigSubentryDataWithId] | None = None,
    **kwargs: Any,
) -> MockConfigEntry:
    """Add an entry of a kind to Home Assistant (not set up)."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        version=ENTRY_VERSION,
        data={"kind": kind, **(data or {})},
        subentries_data=subentries or [],
        **kwargs,
    )
    entry.add_to_hass(hass)
    return entry


def enable_statistics(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Enable, through the entity registry and before setup, the destination
    statistics that start disabled (failed deliveries): the tests read them."""
    registry = er.async_get(hass)
    for subentry in entry.subentries.values():
        registry.async_get_or_create(
            Platform.SENSOR,
            DOMAIN,
            f"{subentry.subentry_id}_failed_deliveries",
            config_entry=entry,
            config_subentry_id=subentry.subentry_id,
            suggested_object_id=f"{slugify(subentry.title)}_failed_deliveries",
            disabled_by=None,
        )


async def start_entry_flow(hass: HomeAssistant, kind: str) -> dict[str, Any]:
    """Open the config flow and pick a kind from the menu; return its first step."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.MENU
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": kind}
    )


async def start_subentry_flow(
    hass: HomeAssistant, entry: MockConfigEntry
) -> dict[str, Any]:
    """Open the add flow of the entry's kind's subentry type."""
    subentry_type = KINDS[entry.data["kind"]].subentry_type
    return await hass.config_entries.subentries.async_init(
        (entry.entry_id, subentry_type), context={"source": SOURCE_USER}
    )


def subentry_type(entry: MockConfigEntry) -> str:
    """Return the subentry type of the entry's kind."""
    return KINDS[entry.data["kind"]].subentry_type


def typed(kind: str, subentries: list[ConfigSubentryDataWithId]) -> list[Any]:
    """Return subentries with the subentry type of a kind."""
    return [{**sub, "subentry_type": KINDS[kind].subentry_type} for sub in subentries]


def reachable_reprs(root: Any, depth: int = 6) -> dict[str, str]:
    """Return repr() of the root and of every object of this integration reachable
    from it (fields, attributes, containers), by the path that reached it."""
    seen: set[int] = set()
    found: dict[str, str] = {}

    def ours(value: Any) -> bool:
        return type(value).__module__.startswith("custom_components.notify_bridge")

    def children(value: Any) -> list[tuple[str, Any]]:
        if isinstance(value, dict):
            return [(f"[{key!r}]", item) for key, item in value.items()]
        if isinstance(value, (list, tuple, set, frozenset)):
            return [(f"[{index}]", item) for index, item in enumerate(value)]
        if not ours(value):
            return []
        names = list(getattr(value, "__dict__", {}))
        for cls in type(value).__mro__:
            names.extend(getattr(cls, "__slots__", ()))
        return [
            (f".{name}", getattr(value, name))
            for name in dict.fromkeys(names)
            if not name.startswith("__") and hasattr(value, name)
        ]

    def walk(value: Any, path: str, left: int) -> None:
        if id(value) in seen or left < 0:
            return
        seen.add(id(value))
        if ours(value) or path == "runtime_data":
            found[path] = repr(value)
        for name, child in children(value):
            walk(child, path + name, left - 1)

    walk(root, "runtime_data", depth)
    return found


def assert_no_secret_printed(root: Any, secrets: list[str]) -> int:
    """Assert no reachable object of ours prints a secret; return how many printed."""
    reprs = reachable_reprs(root)
    leaks = {
        path: text
        for path, text in reprs.items()
        for secret in secrets
        if secret and secret in text
    }
    assert leaks == {}
    return len(reprs)


class RecordingDestination:
    """A destination that keeps every notification (media bytes included)."""

    destination_id = "recorder"
    name = "Recorder"
    output_format = OutputFormat.PLAIN

    def __init__(self) -> None:
        """Start empty."""
        self.notifications: list[Notification] = []

    async def async_deliver(self, notification: Notification) -> DeliveryResult:
        """Keep the notification."""
        self.notifications.append(notification)
        return DeliveryResult(
            destination_id=self.destination_id,
            destination_name=self.name,
            success=True,
            messages_sent=1,
            media_delivered=len(notification.media),
        )


# Telegram pacing that never waits noticeably, for tests that are not about pacing.
FAST = RateLimits(
    per_chat_interval=0.0,
    group_max=1000,
    group_window=0.001,
    global_max=1000,
    global_window=0.001,
)
# Media downloads may reach the loopback fakes (as a user allows a LAN host).
LOOPBACK = UrlPolicy(allowlist=("127.0.0.1/32",))
