"""Fixtures of the Immich source tests: a real fake server and a real client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from custom_components.notify_bridge.sources.immich.client import ImmichClient
from tests.fakes.immich_server import FakeImmichServer


class FakeClock:
    """A clock the tests move by hand (processing timeouts, reconciles)."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        """Start at an arbitrary fixed time."""
        self.now = start

    def __call__(self) -> float:
        """Return the current fake time."""
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += seconds


@pytest.fixture(params=[2, 3], ids=["v2", "v3"])
async def server(
    request: pytest.FixtureRequest, socket_enabled: None
) -> AsyncIterator[FakeImmichServer]:
    """Return a started fake Immich server of each major version."""
    fake = FakeImmichServer(version=request.param)
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
async def v3_server(socket_enabled: None) -> AsyncIterator[FakeImmichServer]:
    """Return a started fake Immich v3 server (for version-independent tests)."""
    fake = FakeImmichServer(version=3)
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """Return a client session, closed after the test."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
def client(server: FakeImmichServer, session: aiohttp.ClientSession) -> ImmichClient:
    """Return a client of the parametrized server."""
    return ImmichClient(session, server.url, server.api_key)


@pytest.fixture
def v3_client(
    v3_server: FakeImmichServer, session: aiohttp.ClientSession
) -> ImmichClient:
    """Return a client of the v3 server."""
    return ImmichClient(session, v3_server.url, v3_server.api_key)


@pytest.fixture
def clock() -> FakeClock:
    """Return a hand-driven clock."""
    return FakeClock()
