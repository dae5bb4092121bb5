"""Receiving by long polling: offsets across restarts, conflicts, backoff, stop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
import contextlib
import logging
from typing import Any

import pytest
from telegram import Bot, Update

from custom_components.notify_bridge.targets.telegram.updates import (
    MemoryOffsetStore,
    OffsetStore,
    PollerState,
    UpdatePoller,
)
from tests.fakes.telegram_inbound import POLL_CONFLICT, WEBHOOK_CONFLICT
from tests.fakes.telegram_server import FakeTelegramServer

from .conftest import FAMILY, STRANGER, Harness, wait_until

pytestmark = pytest.mark.usefixtures("socket_enabled")


class Recorder:
    """An update handler that records ids; can be told to block on one id."""

    def __init__(self) -> None:
        self.seen: list[int] = []
        self.block_on: int | None = None
        self.blocked = asyncio.Event()

    async def __call__(self, update: Update) -> None:
        if update.update_id == self.block_on:
            self.blocked.set()
            await asyncio.Event().wait()  # "crash" here: cancelled by the test
        self.seen.append(update.update_id)


class Sleeps:
    """A sleep that records waits and yields without waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(0)


@pytest.fixture
async def pollers(bot: Bot) -> AsyncIterator[Callable[..., UpdatePoller]]:
    """Return a factory of started pollers; all are stopped afterwards."""
    made: list[UpdatePoller] = []

    def factory(handle: Any, store: OffsetStore, **kwargs: Any) -> UpdatePoller:
        kwargs.setdefault("poll_timeout", 1)
        poller = UpdatePoller(bot, handle, store, **kwargs)
        poller.start()
        made.append(poller)
        return poller

    yield factory
    for poller in made:
        await poller.async_stop()


def push(server: FakeTelegramServer, count: int) -> list[int]:
    """Queue `count` messages from the family chat; return their update ids."""
    return [server.push_message(FAMILY, f"m{i}")["update_id"] for i in range(count)]


async def test_commands_arrive_by_polling(
    server: FakeTelegramServer, harness: Harness, pollers: Callable[..., UpdatePoller]
) -> None:
    """A command queued while the long poll waits is answered; a stranger's is not."""
    store = MemoryOffsetStore()
    poller = pollers(harness.router.async_handle_update, store.store())
    await wait_until(lambda: poller.state is PollerState.RUNNING)
    server.push_message(STRANGER, "/status")
    server.push_message(FAMILY, "/help")
    server.push_message(FAMILY, "/garage open")
    await wait_until(lambda: len(harness.events) == 1)
    assert [c.params["chat_id"] for c in server.calls_to("sendMessage")] == [FAMILY]
    assert harness.events[0].command == "garage"
    assert store.offset == 4
    # The poller made the bot the only consumer and asked for what it handles.
    assert server.calls_to("deleteWebhook")[0].params["drop_pending_updates"] is False
    poll = server.calls_to("getUpdates")[-1].params
    assert poll["allowed_updates"] == ["message", "callback_query"]
    assert poll["timeout"] == 1


async def test_offset_across_a_restart_after_the_save(
    server: FakeTelegramServer, pollers: Callable[..., UpdatePoller]
) -> None:
    """Crash after an update is saved but before it is acknowledged: not repeated."""
    store = MemoryOffsetStore()
    first = Recorder()
    saved = asyncio.Event()
    ids = push(server, 3)

    async def save(offset: int) -> None:
        await store.save(offset)
        if offset == ids[1] + 1:
            saved.set()
            await asyncio.Event().wait()  # crash point: saved, not yet acknowledged

    poller = pollers(first, OffsetStore(store.load, save))
    await asyncio.wait_for(saved.wait(), 5)
    await poller.async_stop()
    assert first.seen == ids[:2]
    # Telegram still holds all three: nothing was acknowledged.
    assert [u["update_id"] for u in server.updates] == ids

    second = Recorder()
    pollers(second, store.store())
    await wait_until(lambda: second.seen == ids[2:])
    later = push(server, 2)
    await wait_until(lambda: len(second.seen) == 3)
    assert first.seen + second.seen == ids + later  # each once, none lost
    assert store.offset == later[-1] + 1


async def test_offset_across_a_restart_during_handling(
    server: FakeTelegramServer, pollers: Callable[..., UpdatePoller]
) -> None:
    """Crash while handling: that one update comes again (at least once), no other."""
    store = MemoryOffsetStore()
    ids = push(server, 3)
    first = Recorder()
    first.block_on = ids[1]
    poller = pollers(first, store.store())
    await asyncio.wait_for(first.blocked.wait(), 5)
    await poller.async_stop()
    assert first.seen == ids[:1]
    assert store.offset == ids[0] + 1

    second = Recorder()
    pollers(second, store.store())
    await wait_until(lambda: len(second.seen) == 2)
    assert second.seen == ids[1:]


async def test_without_a_stored_offset_updates_repeat(
    server: FakeTelegramServer, pollers: Callable[..., UpdatePoller]
) -> None:
    """The control case: what a restart repeats when the offset is not kept."""
    ids = push(server, 2)
    saved = asyncio.Event()

    async def save(offset: int) -> None:
        if offset == ids[-1] + 1:
            saved.set()
            await asyncio.Event().wait()  # crash before the acknowledging poll

    first = Recorder()
    poller = pollers(first, OffsetStore(MemoryOffsetStore().load, save))
    await asyncio.wait_for(saved.wait(), 5)
    await poller.async_stop()
    second = Recorder()
    pollers(second, MemoryOffsetStore().store())  # a store that lost its data
    await wait_until(lambda: len(second.seen) == 2)
    assert first.seen == second.seen == ids  # twice: the kept offset prevents it


async def test_handler_error_does_not_wedge_the_bot(
    server: FakeTelegramServer, pollers: Callable[..., UpdatePoller]
) -> None:
    """An update whose handling raises is logged and passed; the next ones flow."""
    seen: list[int] = []

    async def handle(update: Update) -> None:
        seen.append(update.update_id)
        if len(seen) == 1:
            raise RuntimeError("bug")

    store = MemoryOffsetStore()
    ids = push(server, 2)
    pollers(handle, store.store())
    await wait_until(lambda: store.offset == ids[1] + 1)
    assert seen == ids


async def test_conflict_with_another_consumer(
    server: FakeTelegramServer, pollers: Callable[..., UpdatePoller]
) -> None:
    """409 from a second getUpdates is a CONFLICT state with backoff, then recovers."""
    states: list[PollerState] = []
    sleeps = Sleeps()
    server.fail_next(POLL_CONFLICT, status=409, method="getUpdates", times=2)
    recorder = Recorder()
    poller = pollers(
        recorder,
        MemoryOffsetStore().store(),
        on_state=lambda state, _error: states.append(state),
        sleep=sleeps,
        backoff_base=0.5,
    )
    await wait_until(lambda: poller.state is PollerState.RUNNING)
    assert states == [
        PollerState.STARTING,
        PollerState.CONFLICT,
        PollerState.RUNNING,
    ]
    assert sleeps.waits == [0.5, 1.0]
    ids = push(server, 1)
    await wait_until(lambda: recorder.seen == ids)


async def test_two_pollers_of_one_bot_conflict(
    server: FakeTelegramServer, pollers: Callable[..., UpdatePoller]
) -> None:
    """A second poller terminates the first one's long poll with 409, as Telegram."""
    first = pollers(Recorder(), MemoryOffsetStore().store(), sleep=Sleeps())
    await wait_until(lambda: server.long_polling)
    pollers(
        Recorder(), MemoryOffsetStore().store(), sleep=Sleeps(), delete_webhook=False
    )
    await wait_until(lambda: first.state is PollerState.CONFLICT)
    assert "terminated by other getUpdates" in (first.last_error or "")


async def test_webhook_set_elsewhere_is_a_conflict(
    server: FakeTelegramServer, pollers: Callable[..., UpdatePoller]
) -> None:
    """Without deleting the webhook, polling reports the other consumer."""
    server.webhook_url = "https://elsewhere.example/hook"
    poller = pollers(
        Recorder(), MemoryOffsetStore().store(), delete_webhook=False, sleep=Sleeps()
    )
    await wait_until(lambda: poller.state is PollerState.CONFLICT)
    assert poller.last_error == WEBHOOK_CONFLICT
    assert server.webhook_url  # not taken over


async def test_backoff_on_server_errors_and_rate_limit(
    server: FakeTelegramServer, pollers: Callable[..., UpdatePoller]
) -> None:
    """5xx backs off exponentially; 429 waits exactly retry_after; then it runs."""
    sleeps = Sleeps()
    server.fail_next("Internal Server Error", status=500, method="getUpdates", times=3)
    server.fail_next(
        "Too Many Requests: retry after 7", status=429, method="getUpdates",
        retry_after=7,
    )  # fmt: skip
    poller = pollers(Recorder(), MemoryOffsetStore().store(), sleep=sleeps)
    await wait_until(lambda: poller.state is PollerState.RUNNING)
    assert sleeps.waits == [1.0, 2.0, 4.0, 7.0]


async def test_outage_logged_once_and_recovery_once(
    server: FakeTelegramServer,
    pollers: Callable[..., UpdatePoller],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Three failed polls: one warning; polling again: one info line."""
    caplog.set_level(logging.INFO)
    server.fail_next("Internal Server Error", status=500, method="getUpdates", times=3)
    poller = pollers(Recorder(), MemoryOffsetStore().store(), sleep=Sleeps())
    await wait_until(lambda: poller.state is PollerState.RUNNING)
    ours = "custom_components.notify_bridge.targets.telegram.updates"
    lines = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == ours]
    assert [level for level, _ in lines] == [logging.WARNING, logging.INFO]
    assert "after 3 failure(s)" in lines[1][1]


async def test_refused_token_stops_polling(
    server: FakeTelegramServer, pollers: Callable[..., UpdatePoller]
) -> None:
    """401: AUTH_FAILED, and no more requests (the glue starts reauth)."""
    server.fail_next("Unauthorized", status=401, method="getUpdates")
    poller = pollers(Recorder(), MemoryOffsetStore().store(), sleep=Sleeps())
    await wait_until(lambda: not poller.running)
    assert poller.state is PollerState.AUTH_FAILED
    polls = len([c for c in server.calls if c.method == "getUpdates"])
    await asyncio.sleep(0.05)
    assert len([c for c in server.calls if c.method == "getUpdates"]) == polls == 1


async def test_stop_ends_the_long_poll_promptly(
    server: FakeTelegramServer, bot: Bot
) -> None:
    """Stop cancels a waiting long poll and awaits the task; start again works."""
    poller = UpdatePoller(bot, Recorder(), MemoryOffsetStore().store(), poll_timeout=30)
    poller.start()
    poller.start()  # idempotent
    await wait_until(lambda: server.long_polling)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await poller.async_stop()
    assert loop.time() - started < 1.0
    assert not poller.running and poller.state is PollerState.STOPPED
    with contextlib.suppress(Exception):
        await poller.async_stop()  # twice is harmless
    assert poller.state is PollerState.STOPPED


async def test_stored_offset_garbage_means_none(
    server: FakeTelegramServer, pollers: Callable[..., UpdatePoller]
) -> None:
    """A corrupted stored offset is not sent to Telegram."""

    async def load() -> Any:
        return "garbage"

    async def save(_offset: int) -> None:
        return None

    recorder = Recorder()
    ids = push(server, 1)
    pollers(recorder, OffsetStore(load, save))
    await wait_until(lambda: recorder.seen == ids)
    assert "offset" not in server.calls_to("getUpdates")[0].params
