"""Small pieces of the webhook glue and the Gitea client, without a server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web
from homeassistant.core import HomeAssistant
from homeassistant.helpers.network import NoURLAvailableError
import pytest

from custom_components.notify_bridge.kinds.shared import webhook_source as common
from custom_components.notify_bridge.net import normalize_url
from custom_components.notify_bridge.sources.gitea import parse_gitea_payload
from custom_components.notify_bridge.sources.gitea_client import (
    GiteaClient,
    NotGiteaError,
    event_key,
    issue_events,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://git.example/", "https://git.example"),
        ("HTTP://git.example:3000/sub", "http://git.example:3000/sub"),
        ("ftp://git.example", None),
        ("git.example", None),
        ("https://", None),
        ("https:///path", None),
        ("https://git example", None),
    ],
)
def test_normalize_url(value: str, expected: str | None) -> None:
    """Only http(s) URLs with a host are accepted."""
    assert normalize_url(value) == expected


def test_clean_list() -> None:
    """A single string counts as one item; blanks and repeats go."""
    assert common.clean_list(" a ") == ["a"]
    assert common.clean_list(["a", "", "a ", "b"]) == ["a", "b"]
    assert common.clean_list(None) == []


def test_webhook_url_without_known_url(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When HA knows no URL of itself, the path is shown."""

    def no_url(*args: Any, **kwargs: Any) -> str:
        raise NoURLAvailableError

    monkeypatch.setattr(common.webhook, "async_generate_url", no_url)
    assert common.webhook_url(hass, "abc") == "/api/webhook/abc"


@pytest.fixture
async def odd_server(socket_enabled: None) -> AsyncIterator[str]:
    """A server that is not Gitea: HTML version, a user without login."""

    async def version(request: web.Request) -> web.Response:
        return web.Response(text="<html>", content_type="text/html")

    async def user(request: web.Request) -> web.Response:
        return web.json_response({"id": 1})

    async def good_version(request: web.Request) -> web.Response:
        return web.json_response({"version": "1"})

    app = web.Application()
    app.router.add_get("/a/api/v1/version", version)
    app.router.add_get("/b/api/v1/version", good_version)
    app.router.add_get("/b/api/v1/user", user)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_client_refuses_non_gitea(odd_server: str) -> None:
    """Not JSON, or a user without a login, is not Gitea; the token never shows."""
    async with aiohttp.ClientSession() as session:
        client = GiteaClient(session, odd_server + "/a", "secret-token")
        assert "secret-token" not in repr(client)
        with pytest.raises(NotGiteaError, match="not JSON"):
            await client.async_validate()
        with pytest.raises(NotGiteaError, match="no login"):
            await GiteaClient(session, odd_server + "/b", "t").async_validate()


def test_event_keys_and_times() -> None:
    """Only issue, PR and release changes have keys; bad timestamps are ignored."""
    push = parse_gitea_payload("push", {"ref": "refs/heads/main"})
    assert event_key(push) is None
    anonymous = parse_gitea_payload("issues", {"action": "opened", "issue": {}})
    assert event_key(anonymous) is None
    since = datetime(2025, 1, 1, tzinfo=UTC)
    issues = [
        {"number": 1, "created_at": "not a time"},
        {"number": 2, "created_at": "2025-06-01T00:00:00"},  # no zone
        {"number": 3, "created_at": None},
    ]
    assert issue_events(issues, since) == []


def test_repository_case_is_one_repository() -> None:
    """A webhook says "Acme/Tools", a route or poll "acme/tools": one key, one
    notification; the context keeps Gitea's spelling for display."""
    payload = {
        "action": "published",
        "release": {"tag_name": "v1"},
        "repository": {"full_name": "Acme/Tools"},
    }
    hook = parse_gitea_payload("release", payload)
    polled = parse_gitea_payload(
        "release", {**payload, "repository": {"full_name": "acme/tools"}}
    )
    assert hook.context["repository"] == "Acme/Tools"
    assert hook.context["repository_key"] == "acme/tools"
    assert event_key(hook) == event_key(polled) is not None
    assert hook.to_bridge_event("e").item_key == "acme/tools"
    assert parse_gitea_payload("push", {}).context["repository_key"] is None
