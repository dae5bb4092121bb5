"""What every platform module does: add the entities the entry's kind declares."""

from __future__ import annotations

from collections import defaultdict

from homeassistant.const import Platform
from homeassistant.core import callback
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .catalog import KINDS
from .const import CONF_KIND
from .runtime import NotifyBridgeConfigEntry


@callback
def async_add_kind_entities(
    entry: NotifyBridgeConfigEntry,
    platform: Platform,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the kind's entities of one platform, each with its subentry (if any), so
    Home Assistant removes them with the subentry."""
    factory = KINDS[entry.data[CONF_KIND]].entities.get(platform)
    if factory is None:
        return
    by_subentry: dict[str | None, list[Entity]] = defaultdict(list)
    for subentry_id, entity in factory(entry):
        by_subentry[subentry_id].append(entity)
    for subentry_id, entities in by_subentry.items():
        async_add_entities(entities, config_subentry_id=subentry_id)
