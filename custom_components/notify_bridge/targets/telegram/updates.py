"""Receiving updates by long polling (getUpdates), with a persisted offset.

Delivery guarantee (polling). Telegram forgets an update once getUpdates is called
with an offset above its id. The poller handles the updates of one answer in order
and, after each, saves `update_id + 1` through the `OffsetStore`; only the next
getUpdates (with that offset) acknowledges them. Crash points:

- during the handling of update U (before its save): U was neither saved nor
  acknowledged, so it comes again after the restart — handled at least once (a reply
  may be sent twice, never lost);
- after U's save, before the next getUpdates: the restart loads U+1 and asks for it,
  which acknowledges U without returning it — not repeated;
- after the next getUpdates: Telegram has forgotten U — not repeated.

So a restart loses nothing and repeats at most the one update whose handling it
interrupted. A handler that raises is logged and the update counts as handled: one
broken update must not wedge the bot forever. A failed save is logged; the next
getUpdates still acknowledges, so the only cost is the window above on a crash.

The same `UpdateLedger` serves the webhook (see webhook.py): there Telegram redelivers
an update it got no 2xx for, and an id just below the saved offset is a repeat.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
import logging
from typing import Any, Final

from telegram import Bot, Update
from telegram.error import Conflict, InvalidToken, RetryAfter, TelegramError

from ...pipeline.policy import exponential_backoff
from .inbound import ALLOWED_UPDATES
from .request import retry_after_seconds

_LOGGER = logging.getLogger(__name__)

# Seconds Telegram holds a getUpdates open when there is nothing to return.
LONG_POLL_SECONDS: Final = 50
POLL_BACKOFF_BASE: Final = 1.0
POLL_BACKOFF_MAX: Final = 60.0
# A webhook update this far below the saved offset is a repeat. Ids are sequential,
# except after a week without updates, when Telegram picks a random new start: a
# window (not "anything below") keeps such a restart from being dropped for good.
REPEAT_WINDOW: Final = 1000

type UpdateHandler = Callable[[Update], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class OffsetStore:
    """Where the next update id lives (the glue backs it with HA's Store)."""

    load: Callable[[], Awaitable[int | None]]
    save: Callable[[int], Awaitable[None]]


class MemoryOffsetStore:
    """An `OffsetStore` in memory (tests, benchmarks); `saves` records each save."""

    def __init__(self, offset: int | None = None) -> None:
        """Start with an offset (None = never polled)."""
        self.offset = offset
        self.saves: list[int] = []

    async def load(self) -> int | None:
        """Return the saved offset."""
        return self.offset

    async def save(self, offset: int) -> None:
        """Remember an offset."""
        self.offset = offset
        self.saves.append(offset)

    def store(self) -> OffsetStore:
        """Return this as the callable pair."""
        return OffsetStore(self.load, self.save)


class UpdateLedger:
    """The next update id to handle; every handled update moves it and is saved."""

    def __init__(self, store: OffsetStore) -> None:
        """Use `store`; call `async_load` before the first update."""
        self._store = store
        self.next_offset: int | None = None

    async def async_load(self) -> int | None:
        """Load the saved offset (malformed stored data means none)."""
        value = await self._store.load()
        valid = isinstance(value, int) and not isinstance(value, bool)
        self.next_offset = value if valid else None
        return self.next_offset

    def is_repeat(self, update_id: int) -> bool:
        """Return whether an update id was handled already (webhook redelivery)."""
        offset = self.next_offset
        return offset is not None and offset - REPEAT_WINDOW <= update_id < offset

    async def async_process(self, update: Update, handle: UpdateHandler) -> None:
        """Handle one update, then save the offset after it (see the module doc)."""
        try:
            await handle(update)
        except Exception:
            _LOGGER.exception(
                "Telegram update %s could not be handled", update.update_id
            )
        await self.async_skip(update.update_id)

    async def async_skip(self, update_id: int) -> None:
        """Record an update as done (handled, or not handleable) and save."""
        self.next_offset = update_id + 1
        try:
            await self._store.save(self.next_offset)
        except Exception:
            _LOGGER.exception("Telegram update offset not saved")


class PollerState(StrEnum):
    """What the poller is doing; CONFLICT and AUTH_FAILED need the user."""

    STOPPED = "stopped"
    STARTING = "starting"
    RUNNING = "running"
    # Network or server errors: retrying with backoff.
    BACKING_OFF = "backing_off"
    # 409: another consumer (a second getUpdates, or a webhook set elsewhere).
    CONFLICT = "conflict"
    # The token was refused: polling stopped.
    AUTH_FAILED = "auth_failed"


type StateCallback = Callable[[PollerState, str | None], None]


class UpdatePoller:
    """Long-poll getUpdates in a task kept by this object until `async_stop`."""

    def __init__(
        self,
        bot: Bot,
        handle: UpdateHandler,
        store: OffsetStore,
        *,
        poll_timeout: int = LONG_POLL_SECONDS,
        backoff_base: float = POLL_BACKOFF_BASE,
        backoff_max: float = POLL_BACKOFF_MAX,
        delete_webhook: bool = True,
        on_state: StateCallback | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        """Poll `bot`, feed `handle`; `delete_webhook` makes this the only consumer."""
        self._bot = bot
        self._handle = handle
        self.ledger = UpdateLedger(store)
        self._poll_timeout = poll_timeout
        self._backoff = (backoff_base, backoff_max)
        self._delete_webhook = delete_webhook
        self._on_state = on_state
        self._sleep = sleep
        self._task: asyncio.Task[None] | None = None
        self.state = PollerState.STOPPED
        self.last_error: str | None = None
        self.polls = 0

    @property
    def running(self) -> bool:
        """Return whether the polling task is alive."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start polling (idempotent); must be called on the event loop."""
        if self.running:
            return
        self._set_state(PollerState.STARTING, None)
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name="notify_bridge telegram getUpdates"
        )

    async def async_stop(self) -> None:
        """Cancel the task and wait for it; an interrupted update comes again."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                # Our own cancellation; re-raise only if *we* are being cancelled.
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise
        self._set_state(PollerState.STOPPED, None)

    async def _run(self) -> None:
        await self.ledger.async_load()
        failures = 0
        prepared = not self._delete_webhook
        while True:
            try:
                if not prepared:
                    await self._bot.delete_webhook(drop_pending_updates=False)
                    prepared = True
                updates = await self._poll()
            except InvalidToken as err:
                self._set_state(PollerState.AUTH_FAILED, str(err))
                return
            except TelegramError as err:
                failures += 1
                await self._sleep(self._failure_wait(err, failures))
                continue
            except Exception as err:
                # Not a Bot API answer (a client bug, a broken proxy): keep polling.
                _LOGGER.exception("Telegram getUpdates failed unexpectedly")
                failures += 1
                self._set_state(PollerState.BACKING_OFF, type(err).__name__)
                await self._sleep(exponential_backoff(*self._backoff, failures))
                continue
            if failures:
                # Once at the end of an outage, as its start was (log-when-unavailable).
                _LOGGER.info(
                    "Telegram getUpdates works again after %d failure(s)", failures
                )
            failures = 0
            self._set_state(PollerState.RUNNING, None)
            for update in updates:
                await self.ledger.async_process(update, self._handle)

    async def _poll(self) -> tuple[Update, ...]:
        self.polls += 1
        return await self._bot.get_updates(
            offset=self.ledger.next_offset,
            timeout=self._poll_timeout,
            allowed_updates=list(ALLOWED_UPDATES),
        )

    def _failure_wait(self, err: TelegramError, failures: int) -> float:
        """Record why polling failed; return how long to wait before the next try."""
        if isinstance(err, RetryAfter):
            self._set_state(PollerState.BACKING_OFF, str(err))
            return retry_after_seconds(err)
        state = (
            PollerState.CONFLICT
            if isinstance(err, Conflict)
            else PollerState.BACKING_OFF
        )
        self._set_state(state, err.message)
        wait = exponential_backoff(*self._backoff, failures)
        log = _LOGGER.warning if failures == 1 else _LOGGER.debug
        log("Telegram getUpdates failed (%s); next try in %.1f s", err.message, wait)
        return wait

    def _set_state(self, state: PollerState, error: str | None) -> None:
        changed = (state, error) != (self.state, self.last_error)
        self.state, self.last_error = state, error
        if changed and self._on_state is not None:
            self._on_state(state, error)


__all__ = [
    "LONG_POLL_SECONDS",
    "MemoryOffsetStore",
    "OffsetStore",
    "PollerState",
    "UpdateHandler",
    "UpdateLedger",
    "UpdatePoller",
]
