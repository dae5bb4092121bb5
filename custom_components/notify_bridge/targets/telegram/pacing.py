"""Proactive flood control for one bot, so Telegram never has to answer 429."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
import itertools
import time
from typing import Any

from .limits import RateLimits, is_group_chat


class _Window:
    """Send stamps of a sliding window (a group's minute, the bot's second).

    A send is stamped when it starts (so concurrent chats cannot take the same slot)
    and re-stamped when it completes: Telegram counts a message when it arrives,
    which is at the latest when the answer comes back.
    """

    def __init__(self) -> None:
        self._ids = itertools.count()
        self._stamps: dict[int, float] = {}
        self._pending: set[int] = set()

    def reserve(self, now: float, weight: int) -> list[int]:
        tickets = [next(self._ids) for _ in range(weight)]
        for ticket in tickets:
            self._stamps[ticket] = now
            self._pending.add(ticket)
        return tickets

    def complete(self, tickets: list[int], now: float) -> None:
        for ticket in tickets:
            self._stamps[ticket] = now
            self._pending.discard(ticket)

    def wait(self, now: float, size: int, span: float, weight: int) -> float:
        """Return how long until `weight` more messages fit the window."""
        for ticket, stamp in list(self._stamps.items()):
            if ticket not in self._pending and stamp <= now - span:
                del self._stamps[ticket]
        # Room for `weight` means the newest size - weight stamps may stay.
        keep = size - min(weight, size)
        if len(self._stamps) <= keep:
            return 0.0
        newest = sorted(self._stamps, key=self._stamps.__getitem__, reverse=True)
        deciding = newest[keep]
        if deciding in self._pending:
            # Its arrival time is unknown until it completes; look again shortly.
            return span / 100
        return self._stamps[deciding] + span - now


class ChatPacer:
    """Waits so Telegram's limits hold, counting messages, not requests.

    Each chat gets a lock so its messages go one at a time and in order; before a send
    the pacer waits for the per-chat interval (counted from the previous send's
    answer), the per-group window and the bot-wide window. An album of N items is N
    messages to Telegram's limits, so a call carries a weight.
    """

    def __init__(
        self,
        limits: RateLimits,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        """Start with no history."""
        self._limits = limits
        self._clock = clock
        self._sleep = sleep
        self._locks: dict[str, asyncio.Lock] = {}
        self._last: dict[str, float] = {}
        self._blocked: dict[str, float] = {}
        self._groups: dict[str, _Window] = {}
        self._global = _Window()

    @asynccontextmanager
    async def slot(
        self, chat_id: int | str | None, weight: int = 1
    ) -> AsyncIterator[None]:
        """Hold the chat's turn for one call of `weight` messages; None = no chat."""
        if chat_id is None:
            yield
            return
        key = str(chat_id)
        group = (
            self._groups.setdefault(key, _Window()) if is_group_chat(chat_id) else None
        )
        async with self._locks.setdefault(key, asyncio.Lock()):
            while (wait := self._wait_for(key, group, weight)) > 0:
                await self._sleep(wait)
            # No await between the check above and these reservations, so no other
            # chat can take the same global slot.
            now = self._clock()
            tickets = [
                (window, window.reserve(now, weight))
                for window in (self._global, group)
                if window
            ]
            try:
                yield
            finally:
                done = self._clock()
                self._last[key] = done
                for window, reserved in tickets:
                    window.complete(reserved, done)

    def block(self, chat_id: int | str, seconds: float) -> None:
        """Hold a chat back after Telegram said retry_after."""
        key = str(chat_id)
        until = self._clock() + seconds
        self._blocked[key] = max(self._blocked.get(key, 0.0), until)

    def _wait_for(self, key: str, group: _Window | None, weight: int) -> float:
        now, limits = self._clock(), self._limits
        waits = [
            self._blocked.get(key, now) - now,
            self._global.wait(now, limits.global_max, limits.global_window, weight),
        ]
        if key in self._last:
            waits.append(self._last[key] + limits.per_chat_interval - now)
        if group is not None:
            waits.append(group.wait(now, limits.group_max, limits.group_window, weight))
        return max(waits)


__all__ = ["ChatPacer"]
