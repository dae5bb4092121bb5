"""What every platform module does: add the entities the entry's kind declares."""

from __future__ import annotations

from collections import defaultdict

from homeassistant.const import Platform
from homeassistant.core import callback
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .catalog import KINDS
from .const import CONF_KIND
from .kinds.shared.refresh import refresh_button
from .runtime import NotifyBridgeConfigEntry


@callback
def async_add_kind_entities(
    entry: NotifyBridgeConfigEntry,
    platform: Platform,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the kind's entities of one platform, each with its subentry (if any), so
    Home Assistant removes them with the subentry."""
    kind = KINDS[entry.data[CONF_KIND]]
    factories = [kind.entities.get(platform)]
    if platform is Platform.BUTTON and kind.poller is not None:
        # Every source that polls has its "Refresh now" button.
        factories.append(refresh_button(kind.poller))
    by_subentry: dict[str | None, list[Entity]] = defaultdict(list)
    for factory in factories:
        for subentry_id, entity in factory(entry) if factory else ():
            by_subentry[subentry_id].append(entity)
    for subentry_id, entities in by_subentry.items():
        async_add_entities(entities, config_subentry_id=subentry_id)
