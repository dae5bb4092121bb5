"""Credentials in configured URLs: sent as a header, never kept in a URL or a link.

The Immich and Gitea clients against real servers on 127.0.0.1 that demand the
credentials like a reverse proxy would; Planka and Gitea links built from the URL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
import pytest

from custom_components.notify_bridge.net import basic_auth_header
from custom_components.notify_bridge.sources.gitea_client import (
    GiteaClient,
    GiteaConnectionError,
    release_events,
)
from custom_components.notify_bridge.sources.immich.client import (
    ImmichAuthError,
    ImmichClient,
    ImmichConnectionError,
    MediaVariant,
)
from custom_components.notify_bridge.sources.planka import parse_planka_payload
from tests.fakes.immich_server import FakeImmichServer

from .webhook.payloads import planka_card_created

USER = "proxyuser"
PASSWORD = "pr0xy-Pa55word"


def with_credentials(url: str) -> str:
    """Return `url` with the test credentials in it."""
    return url.replace("://", f"://{USER}:{PASSWORD}@", 1)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """Return a client session, closed after the test."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
async def proxied(socket_enabled: None) -> AsyncIterator[FakeImmichServer]:
    """Return a fake Immich server behind a basic-auth proxy."""
    fake = FakeImmichServer(version=3)
    await fake.start()
    fake.proxy_auth = basic_auth_header(USER, PASSWORD)
    yield fake
    await fake.close()


async def test_immich_client_authenticates_with_url_credentials(
    proxied: FakeImmichServer, session: aiohttp.ClientSession
) -> None:
    """Every request (the unauthenticated ping included) passes the proxy."""
    album = proxied.create_album("Holiday", 1)
    [asset] = proxied.add_assets(album, 1)
    client = ImmichClient(session, with_credentials(proxied.url), proxied.api_key)
    await client.async_validate()
    assert [a.id for a in await client.async_get_albums()] == [album]
    blob = await client.async_download(asset, MediaVariant.THUMBNAIL, max_bytes=10**6)
    assert blob.data
    assert client.base_url == proxied.url
    assert PASSWORD not in repr(client)
    assert USER not in repr(client)


async def test_immich_without_credentials_is_refused(
    proxied: FakeImmichServer, session: aiohttp.ClientSession
) -> None:
    """Control: the fake proxy really checks the header."""
    client = ImmichClient(session, proxied.url, proxied.api_key)
    with pytest.raises(ImmichAuthError):
        await client.async_get_albums()


async def test_immich_errors_carry_no_credentials(
    session: aiohttp.ClientSession, socket_enabled: None
) -> None:
    """A connection failure names the server, never its password."""
    server = TestServer(web.Application(), host="127.0.0.1")
    await server.start_server()
    port = server.port
    await server.close()
    client = ImmichClient(session, f"http://{USER}:{PASSWORD}@127.0.0.1:{port}", "k")
    with pytest.raises(ImmichConnectionError) as caught:
        await client.async_get_albums()
    assert PASSWORD not in str(caught.value)
    assert PASSWORD not in repr(caught.value.__cause__)


@pytest.fixture
async def gitea_proxy(socket_enabled: None) -> AsyncIterator[TestServer]:
    """A `/api/v1/version` that records the Authorization header it got."""
    seen: list[str | None] = []

    async def version(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization"))
        return web.json_response({"version": "1.22.0"})

    async def user(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization"))
        return web.json_response({"login": "alice"})

    app = web.Application()
    app["seen"] = seen
    app.router.add_get("/api/v1/version", version)
    app.router.add_get("/api/v1/user", user)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


async def test_gitea_client_sends_url_credentials_as_a_header(
    gitea_proxy: TestServer, session: aiohttp.ClientSession
) -> None:
    """Without a token the URL's credentials are the Authorization header."""
    url = with_credentials(str(gitea_proxy.make_url("")).rstrip("/"))
    client = GiteaClient(session, url)
    assert (await client.async_validate()).version == "1.22.0"
    assert gitea_proxy.app["seen"] == [basic_auth_header(USER, PASSWORD)]
    assert PASSWORD not in repr(client)
    # With an API token, the token is the one Authorization header.
    await GiteaClient(session, url, "tok-123").async_validate()
    assert gitea_proxy.app["seen"][-1] == "token tok-123"


async def test_gitea_errors_carry_no_credentials(
    session: aiohttp.ClientSession, socket_enabled: None
) -> None:
    """A failure message names the path only."""
    client = GiteaClient(session, f"http://{USER}:{PASSWORD}@127.0.0.1:9")
    with pytest.raises(GiteaConnectionError) as caught:
        await client.async_validate()
    assert PASSWORD not in str(caught.value)


def test_gitea_poll_links_carry_no_credentials() -> None:
    """Releases found by polling link to the repository without the password."""
    now = datetime.now(UTC)
    release = {
        "id": 1,
        "tag_name": "v1",
        "name": "v1",
        "published_at": now.isoformat(),
        "html_url": "https://git.example/acme/tools/releases/tag/v1",
        "author": {"login": "alice"},
    }
    [event] = release_events(
        with_credentials("https://git.example"),
        {"acme/tools": [release]},
        now - timedelta(minutes=1),
    )
    assert event.context["repository_url"] == "https://git.example/acme/tools"
    assert PASSWORD not in str(event.context)


def test_planka_card_links_carry_no_credentials() -> None:
    """The card link built from the configured URL has no credentials."""
    event = parse_planka_payload(
        planka_card_created(), base_url=with_credentials("https://planka.example")
    )
    assert event is not None
    url = event.context["card"]["url"]
    assert url.startswith("https://planka.example/cards/")
    assert PASSWORD not in str(event.context)
