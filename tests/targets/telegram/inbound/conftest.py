"""Fixtures and fakes of the inbound tests: the fake Bot API, a bot, a status."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import ClientSession
import pytest
from telegram import Bot, Update

from custom_components.notify_bridge.targets.telegram import TelegramBot
from custom_components.notify_bridge.targets.telegram.calls import RetryAfterCaller
from custom_components.notify_bridge.targets.telegram.commands import (
    DeliveredNotification,
    DestinationStatus,
    StatusReport,
)
from custom_components.notify_bridge.targets.telegram.inbound import (
    ChatDestination,
    InboundConfig,
    InboundEvent,
    InboundRouter,
)
from custom_components.notify_bridge.targets.telegram.sender import RetryPolicy
from tests.fakes.telegram_server import FakeTelegramServer

FAMILY = -1001  # a group chat that is a destination
ALICE = 501  # a private chat that is a destination
LISTED_USER = 777  # a user listed in the option, no destination of their own
STRANGER = 999
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
DESTINATIONS = (
    ChatDestination("dest_family", FAMILY, language="en"),
    ChatDestination("dest_alice", ALICE, language="ru-RU"),
)


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    """Run the fake; every test also asserts that no call broke the Bot API spec."""
    async with FakeTelegramServer() as fake:
        yield fake
        assert fake.spec_violations == []


@pytest.fixture
async def bot(server: FakeTelegramServer) -> AsyncIterator[Bot]:
    """Yield the PTB Bot as the Telegram target builds it, talking to the fake."""
    async with ClientSession() as session:
        target_bot = TelegramBot(
            server.token, session=session, api_base_url=server.api_root
        )
        yield target_bot.bot
        await target_bot.async_close()


class FakeStatus:
    """A `BridgeStatus` with canned answers; records what it was asked."""

    def __init__(self) -> None:
        """Start with one failing source and a short history for the family chat."""
        self.asked: list[tuple[str, Any]] = []
        self.muted: dict[str, datetime] = {}
        self.held = {"dest_family": 3}
        self.source_problems = ["Immich (unreachable)"]
        self.history = {
            "dest_family": [
                DeliveredNotification(
                    f"d{i}", f"Title {i}", f"Message {i}", NOW - timedelta(minutes=i)
                )
                for i in range(1, 8)
            ]
        }
        self.fail_with: Exception | None = None

    async def async_status(self, destination_ids: Sequence[str]) -> StatusReport:
        """Return backlog 2 / failures 1 for the family chat, zero elsewhere."""
        self.asked.append(("status", tuple(destination_ids)))
        self._maybe_fail()
        return StatusReport(
            destinations=[
                DestinationStatus(
                    dest_id,
                    dest_id.removeprefix("dest_").title(),
                    backlog=2 if dest_id == "dest_family" else 0,
                    failed=1 if dest_id == "dest_family" else 0,
                    muted_until=self.muted.get(dest_id),
                )
                for dest_id in destination_ids
            ],
            source_problems=self.source_problems,
        )

    async def async_latest(
        self, destination_id: str, limit: int
    ) -> Sequence[DeliveredNotification]:
        """Return the newest `limit` of the canned history."""
        self.asked.append(("latest", (destination_id, limit)))
        return self.history.get(destination_id, [])[:limit]

    async def async_mute(self, destination_id: str, until: datetime) -> None:
        """Remember the mute."""
        self.asked.append(("mute", (destination_id, until)))
        self.muted[destination_id] = until

    async def async_unmute(self, destination_id: str) -> int:
        """Forget the mute; report what was held."""
        self.asked.append(("unmute", destination_id))
        self.muted.pop(destination_id, None)
        return self.held.pop(destination_id, 0)

    async def async_flush(self, destination_id: str) -> int:
        """Report what was held."""
        self.asked.append(("flush", destination_id))
        self._maybe_fail()
        return self.held.pop(destination_id, 0)

    def _maybe_fail(self) -> None:
        if self.fail_with is not None:
            raise self.fail_with


class Harness:
    """A router wired to the fake, its status provider and an event list."""

    def __init__(self, server: FakeTelegramServer, bot: Bot, **config: Any) -> None:
        """Build the router; `config` overrides InboundConfig fields."""
        self.server = server
        self.bot = bot
        self.status = FakeStatus()
        self.events: list[InboundEvent] = []
        self.clock = 0.0
        options: dict[str, Any] = {
            "bot_username": server.username,
            "destinations": DESTINATIONS,
            "allowed_user_ids": frozenset({LISTED_USER}),
        }
        options.update(config)
        self.router = InboundRouter(
            bot,
            InboundConfig(**options),
            self.status,
            self.events.append,
            caller=RetryAfterCaller(RetryPolicy(base_delay=0.001)),
            clock=lambda: self.clock,
            now=lambda: NOW,
        )

    async def feed(self, update: dict[str, Any]) -> None:
        """Hand one update (as the fake queued it) to the router."""
        self.server.updates.remove(update)
        await self.router.async_handle_update(Update.de_json(update, self.bot))

    async def say(self, chat_id: int, text: str, **kwargs: Any) -> list[str]:
        """Send a message from a chat; return the texts the bot replied with."""
        before = len(self.server.calls_to("sendMessage"))
        await self.feed(self.server.push_message(chat_id, text, **kwargs))
        return [c.params["text"] for c in self.server.calls_to("sendMessage")[before:]]

    def replies_to(self, chat_id: int) -> list[str]:
        """Return every text the bot sent to a chat."""
        return [
            c.params["text"]
            for c in self.server.calls_to("sendMessage")
            if c.params["chat_id"] == chat_id
        ]


@pytest.fixture
def make_harness(server: FakeTelegramServer, bot: Bot) -> Callable[..., Harness]:
    """Return a factory of harnesses (config overrides as keyword arguments)."""
    return lambda **config: Harness(server, bot, **config)


@pytest.fixture
def harness(make_harness: Callable[..., Harness]) -> Harness:
    """Return the default harness."""
    return make_harness()


async def wait_until(predicate: Callable[[], bool], within: float = 5.0) -> None:
    """Wait until `predicate()` holds (polling the loop), or fail."""
    async with asyncio.timeout(within):
        # The conditions live in other objects (fake, poller): polling them is simplest.
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.005)
