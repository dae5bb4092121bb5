"""Preparation before a delivery's turn: slow work outside locks and send slots.

A destination may do slow work (media downloads) in `async_prepare` before the
delivery waits for its destination's lock and one of the process-wide send slots.
Order per destination still holds: a delivery takes its place in line (`Turns`)
when it arrives, prepares, and then takes the lock only after the one ahead of it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol

from .models import DeliveryResult, Destination, Notification, OutputFormat


class Prepared(Protocol):
    """What a destination prepared for one notification (e.g. downloaded media)."""

    async def async_release(self) -> None:
        """Free what was prepared (memory, temporary files); always called."""


class PreparedDestination:
    """A destination bound to what it prepared; used for this delivery only."""

    def __init__(self, destination: Any, prepared: Prepared) -> None:
        """Wrap `destination`, whose `async_deliver` accepts `prepared`."""
        self._destination = destination
        self._prepared = prepared

    @property
    def destination_id(self) -> str:
        """Return the wrapped destination's id."""
        return str(self._destination.destination_id)

    @property
    def name(self) -> str:
        """Return the wrapped destination's name."""
        return str(self._destination.name)

    @property
    def output_format(self) -> OutputFormat:
        """Return the wrapped destination's format."""
        return self._destination.output_format  # type: ignore[no-any-return]

    async def async_deliver(self, notification: Notification) -> DeliveryResult:
        """Deliver with what was prepared (items not prepared are fetched then)."""
        return await self._destination.async_deliver(  # type: ignore[no-any-return]
            notification, self._prepared
        )


@asynccontextmanager
async def prepared(
    destination: Destination, notification: Notification
) -> AsyncIterator[Destination]:
    """Yield the destination with its preparation done; released whatever happens."""
    prepare = getattr(destination, "async_prepare", None)
    if prepare is None or not notification.media:
        yield destination
        return
    ready: Prepared = await prepare(notification)
    try:
        yield PreparedDestination(destination, ready)
    finally:
        await ready.async_release()


class Turns:
    """Per destination, deliveries take the lock in the order they arrived."""

    def __init__(self) -> None:
        """Start with empty lines."""
        self._last: dict[str, asyncio.Future[None]] = {}

    @asynccontextmanager
    async def place(self, key: str) -> AsyncIterator[_Place]:
        """Take a place in line now (no await before it is taken)."""
        ahead = self._last.get(key)
        mine: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._last[key] = mine
        try:
            yield _Place(ahead, mine)
        finally:
            _done(mine)
            if self._last.get(key) is mine:
                del self._last[key]


class _Place:
    """One delivery's place: `wait` until the one ahead took the lock, `go` after."""

    def __init__(
        self, ahead: asyncio.Future[None] | None, mine: asyncio.Future[None]
    ) -> None:
        self._ahead = ahead
        self._mine = mine

    async def wait(self) -> None:
        """Return when every delivery that arrived earlier holds or left the lock."""
        if self._ahead is not None:
            await asyncio.shield(self._ahead)

    def go(self) -> None:
        """Say this delivery holds the lock: the next one may queue for it."""
        _done(self._mine)


def _done(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
