"""The Immich source's own entity: the asset count of each album route."""

from __future__ import annotations

from typing import Any

from homeassistant.components.sensor import SensorEntity, SensorStateClass
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from ...sources.immich.routes import RouteConfig
from ..shared.entities import subentry_device
from .coordinator import ImmichCoordinator
from .setup import ImmichConfigEntry

ASSET_COUNT_KEY = "asset_count"
# The model of a route's device (its asset count and event entities).
ROUTE_MODEL = "Album route"


class RouteAssetCountSensor(CoordinatorEntity[ImmichCoordinator], SensorEntity):
    """How many assets the albums of one route hold."""

    _attr_has_entity_name = True
    _attr_translation_key = "route_asset_count"
    _attr_state_class = SensorStateClass.MEASUREMENT
    _attr_native_unit_of_measurement = "assets"

    def __init__(
        self,
        coordinator: ImmichCoordinator,
        entry: ImmichConfigEntry,
        route: RouteConfig,
        device: DeviceInfo,
    ) -> None:
        """Attach to the route's device; the unique id comes from the subentry."""
        super().__init__(coordinator)
        self._route = route
        self._attr_unique_id = f"{entry.entry_id}_{route.route_id}_{ASSET_COUNT_KEY}"
        self._attr_device_info = device

    @property
    def native_value(self) -> int:
        """Return the sum of the route's album sizes."""
        return self.coordinator.asset_count(self._route.albums)

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Return the names of the route's albums as last seen."""
        albums = self.coordinator.watcher.state.albums
        return {
            "albums": sorted(
                albums[album_id].name
                for album_id in self._route.albums
                if album_id in albums
            )
        }


def route_entities(entry: ImmichConfigEntry) -> list[tuple[str | None, Entity]]:
    """Return the asset count sensor of every route, on the route's own device."""
    coordinator = entry.runtime_data.coordinator
    return [
        (
            route.route_id,
            RouteAssetCountSensor(
                coordinator,
                entry,
                route,
                subentry_device(entry, route.route_id, route.name, ROUTE_MODEL),
            ),
        )
        for route in coordinator.routes
    ]
