"""Entry kinds: each kind brings its config-flow step, subentry flows and setup.

A kind lives in one module of this package, so adding a source or target touches its
own module and the `KINDS` list below, not the shared glue.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from homeassistant.const import Platform

from ..pipeline.models import OutputFormat

if TYPE_CHECKING:
    from homeassistant.config_entries import (
        ConfigEntry,
        ConfigFlow,
        ConfigSubentryFlow,
    )
    from homeassistant.core import HomeAssistant

    from ..const import EntryKind
    from ..hub import (
        NotifyBridgeConfigEntry,
        NotifyBridgeHub,
        SourceRuntime,
        TargetRuntime,
    )

type KindSetup = Callable[
    ["HomeAssistant", "NotifyBridgeHub", "NotifyBridgeConfigEntry"],
    Awaitable["TargetRuntime | SourceRuntime"],
]


@dataclass(frozen=True, slots=True)
class Kind:
    """One entry kind: the menu step, its subentries and how it is set up."""

    kind: EntryKind
    platforms: tuple[Platform, ...]
    setup: KindSetup
    # A ConfigFlow mixin providing `async_step_<kind>` (and optionally
    # `async_step_reconfigure_<kind>`, `async_step_reauth_<kind>`).
    entry_flow: type[ConfigFlow]
    subentry_flows: Mapping[str, type[ConfigSubentryFlow]]
    # Storage keys an entry leaves behind; removed with the entry.
    store_keys: Callable[[ConfigEntry], Iterable[str]] = lambda _entry: ()
    # How a destination of this (target) kind displays text, from its options; used
    # to render for a destination whose entry is not loaded yet.
    output_format: Callable[[Mapping[str, Any]], OutputFormat] = (
        lambda _options: OutputFormat.PLAIN
    )


def all_kinds() -> dict[str, Kind]:
    """Return every kind, in the order the config flow menu offers them."""
    # Imported here: each kind module imports this package for `Kind`.
    from . import (
        gitea,
        ha_events,
        home_assistant,
        immich,
        planka,
        telegram,
        webhook,
    )

    kinds = (
        home_assistant.KIND,
        telegram.KIND,
        ha_events.KIND,
        immich.KIND,
        gitea.KIND,
        planka.KIND,
        webhook.KIND,
    )
    return {kind.kind.value: kind for kind in kinds}
