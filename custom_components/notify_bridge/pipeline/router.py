"""Which routes an event matches."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .models import BridgeEvent, Route

_MISSING = object()


def lookup(data: Mapping[str, Any], dotted_key: str) -> Any:
    """Return the value at `a.b.c` in nested mappings, or a sentinel when absent."""
    value: Any = data
    for part in dotted_key.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


def route_matches(route: Route, event: BridgeEvent) -> bool:
    """Return whether an event is one the route asked for."""
    if route.source_entry_id != event.source_entry_id:
        return False
    if route.event_types and event.event_type not in route.event_types:
        return False
    return all(
        _values_equal(lookup(event.data, key), expected)
        for key, expected in route.match.items()
    )


def _values_equal(actual: Any, expected: Any) -> bool:
    if actual is _MISSING:
        return False
    if isinstance(expected, str) and not isinstance(actual, str):
        # Match values typed in a form are strings; event data may hold numbers or bools.
        if isinstance(actual, bool):
            return str(actual).lower() == expected.lower()
        return str(actual) == expected
    return bool(actual == expected)


class Router:
    """Routes grouped by source, so matching looks only at the event's own source."""

    def __init__(self) -> None:
        """Start with no routes."""
        self._by_source: dict[str, tuple[Route, ...]] = {}

    def set_routes(self, source_entry_id: str, routes: Iterable[Route]) -> None:
        """Replace every route of one source."""
        self._by_source[source_entry_id] = tuple(routes)

    def remove_source(self, source_entry_id: str) -> None:
        """Forget a source's routes (its entry was unloaded)."""
        self._by_source.pop(source_entry_id, None)

    def routes_for(self, source_entry_id: str) -> tuple[Route, ...]:
        """Return one source's routes."""
        return self._by_source.get(source_entry_id, ())

    def match(self, event: BridgeEvent) -> list[Route]:
        """Return the routes that want this event, in configuration order."""
        return [
            route
            for route in self._by_source.get(event.source_entry_id, ())
            if route_matches(route, event)
        ]
