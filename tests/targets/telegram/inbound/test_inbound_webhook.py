"""Receiving by webhook: the secret before the body, bounds, bad input, repeats."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
import json
from typing import Any

from aiohttp import ClientSession, web
from multidict import CIMultiDict
import pytest
from telegram import Bot, Update

from custom_components.notify_bridge.targets.telegram.calls import RetryAfterCaller
from custom_components.notify_bridge.targets.telegram.updates import (
    MemoryOffsetStore,
)
from custom_components.notify_bridge.targets.telegram.webhook import (
    SECRET_HEADER,
    TelegramWebhook,
    async_set_webhook,
    async_use_polling,
    async_webhook_info,
    new_secret_token,
)
from tests.fakes.telegram_server import FakeTelegramServer

from .conftest import FAMILY, STRANGER, Harness

pytestmark = pytest.mark.usefixtures("socket_enabled")

SECRET = new_secret_token()


class CountingStream:
    """A body stream that counts every read (proves what was not read)."""

    def __init__(self, body: bytes) -> None:
        self._body = body
        self.reads = 0

    async def read(self, n: int = -1) -> bytes:
        self.reads += 1
        chunk, self._body = self._body[:n], self._body[n:]
        return chunk


class Request:
    """The three things the webhook reads of a request."""

    def __init__(self, headers: Mapping[str, str], body: bytes) -> None:
        self.method = "POST"
        self.headers = CIMultiDict(headers)
        self.content = CountingStream(body)


def headers(secret: str | None = SECRET, **extra: str) -> dict[str, str]:
    """Return Telegram's webhook headers."""
    result = {"Content-Type": "application/json", **extra}
    if secret is not None:
        result[SECRET_HEADER] = secret
    return result


@pytest.fixture
async def webhook(harness: Harness, bot: Bot) -> TelegramWebhook:
    """Return a loaded webhook endpoint feeding the harness's router."""
    endpoint = TelegramWebhook(
        bot, SECRET, harness.router.async_handle_update, MemoryOffsetStore().store()
    )
    await endpoint.async_load()
    return endpoint


@pytest.fixture
async def post(
    webhook: TelegramWebhook,
) -> AsyncIterator[Callable[..., Awaitable[tuple[int, Any]]]]:
    """Serve the webhook on 127.0.0.1 (aiohttp, as HA does); return a poster."""
    app = web.Application()

    async def handle(request: web.Request) -> web.Response:
        return (await webhook.async_handle(request)).to_response()

    app.router.add_post("/api/webhook/tg", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    async with ClientSession() as session:

        async def send(body: bytes, request_headers: dict[str, str]) -> tuple[int, Any]:
            url = f"http://127.0.0.1:{port}/api/webhook/tg"
            async with session.post(url, data=body, headers=request_headers) as resp:
                return resp.status, await resp.json()

        yield send
    await runner.cleanup()


def body_of(update: dict[str, Any], server: FakeTelegramServer) -> bytes:
    """Take a queued update off the fake (Telegram pushes it instead) as JSON."""
    server.updates.remove(update)
    return json.dumps(update).encode()


async def test_command_by_webhook_over_http(
    post: Callable[..., Awaitable[tuple[int, Any]]],
    server: FakeTelegramServer,
    harness: Harness,
    webhook: TelegramWebhook,
) -> None:
    """A real POST with the secret is answered 2xx and the command replied to."""
    status, _ = await post(
        body_of(server.push_message(FAMILY, "/help"), server), headers()
    )
    assert status == 202
    assert len(harness.replies_to(FAMILY)) == 1
    status, _ = await post(
        body_of(server.push_button(FAMILY, "open"), server), headers()
    )
    assert status == 202
    assert [e.data for e in harness.events] == ["open"]
    assert webhook.stats.accepted == 2


async def test_forged_secret_is_401_without_reading_the_body(
    post: Callable[..., Awaitable[tuple[int, Any]]],
    server: FakeTelegramServer,
    harness: Harness,
    webhook: TelegramWebhook,
) -> None:
    """Wrong, missing, or almost-right secrets: 401, zero body bytes, counted."""
    body = body_of(server.push_message(FAMILY, "/status"), server)
    for forged in ("wrong", SECRET[:-1], SECRET + "x", "", None):
        request = Request(headers(forged), body)
        result = await webhook.async_handle(request)
        assert result.status == 401
        assert request.content.reads == 0
        assert result.body_bytes_read == 0
    status, _ = await post(body, headers("forged"))
    assert status == 401
    assert webhook.stats.unauthorized == 6
    assert webhook.stats.body_bytes_read == 0
    assert harness.events == [] and server.calls_to("sendMessage") == []


async def test_oversize_body(
    webhook: TelegramWebhook, harness: Harness, server: FakeTelegramServer
) -> None:
    """A declared or actual body above the bound: 413, read stops at the bound."""
    big = b'{"update_id": 1, "pad": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    declared = Request(headers(**{"Content-Length": str(len(big))}), big)
    assert (await webhook.async_handle(declared)).status == 413
    assert declared.content.reads == 0
    chunked = Request(headers(), big)  # no Content-Length: counted while reading
    result = await webhook.async_handle(chunked)
    assert result.status == 413
    assert result.body_bytes_read <= 1024 * 1024 + 64 * 1024
    assert webhook.stats.too_large == 2
    assert harness.events == []


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[1, 2]", b'"text"', b'{"message": {}}', b'{"update_id": "7"}'],
)
async def test_malformed_bodies_are_400(
    webhook: TelegramWebhook, harness: Harness, body: bytes
) -> None:
    """Bodies that are no update (even with the right secret) are refused: 400."""
    result = await webhook.async_handle(Request(headers(), body))
    assert result.status == 400
    assert webhook.stats.bad_request == 1
    assert harness.events == []


async def test_unreadable_update_is_acknowledged(
    webhook: TelegramWebhook, harness: Harness
) -> None:
    """Telegram's update PTB cannot read is skipped with 2xx (no endless retry)."""
    body = json.dumps({"update_id": 40, "message": {"chat": "not an object"}})
    result = await webhook.async_handle(Request(headers(), body.encode()))
    assert result.status == 202
    assert webhook.ledger.next_offset == 41
    assert harness.events == []


async def test_stranger_by_webhook(
    webhook: TelegramWebhook, harness: Harness, server: FakeTelegramServer
) -> None:
    """A stranger's command through the webhook: 2xx to Telegram, nothing else."""
    body = body_of(server.push_message(STRANGER, "/flush"), server)
    assert (await webhook.async_handle(Request(headers(), body))).status == 202
    assert harness.events == [] and server.calls_to("sendMessage") == []
    assert harness.status.asked == []


async def test_redelivered_update_is_not_handled_twice(
    bot: Bot, harness: Harness, server: FakeTelegramServer
) -> None:
    """Telegram resends an update it got no 2xx for; across a restart too."""
    store = MemoryOffsetStore()
    first = TelegramWebhook(
        bot, SECRET, harness.router.async_handle_update, store.store()
    )
    await first.async_load()
    body = body_of(server.push_message(FAMILY, "/garage"), server)
    for _ in range(2):
        assert (await first.async_handle(Request(headers(), body))).status == 202
    restarted = TelegramWebhook(
        bot, SECRET, harness.router.async_handle_update, store.store()
    )
    await restarted.async_load()
    assert (await restarted.async_handle(Request(headers(), body))).status == 202
    assert len(harness.events) == 1
    assert first.stats.repeats == 1 and restarted.stats.repeats == 1
    newer = body_of(server.push_message(FAMILY, "/garage again"), server)
    await restarted.async_handle(Request(headers(), newer))
    assert len(harness.events) == 2


async def test_switching_between_webhook_and_polling(
    bot: Bot, server: FakeTelegramServer
) -> None:
    """setWebhook with a fresh secret; deleteWebhook makes getUpdates work again."""
    caller = RetryAfterCaller()
    server.push_message(FAMILY, "pending")
    secret = await async_set_webhook(bot, "https://ha.example/api/webhook/x", caller)
    assert len(secret) >= 32 and secret != await async_set_webhook(
        bot, "https://ha.example/api/webhook/x", caller
    )
    options = server.calls_to("setWebhook")[0].params
    assert options["allowed_updates"] == ["message", "callback_query"]
    assert options["max_connections"] == 1
    assert options["drop_pending_updates"] is False
    info = await async_webhook_info(bot, caller)
    assert info.url == "https://ha.example/api/webhook/x"
    assert info.pending_update_count == 1  # nothing dropped
    with pytest.raises(Exception, match="webhook is active"):
        await bot.get_updates()
    await async_use_polling(bot, caller)
    assert [
        u.effective_message.text for u in await bot.get_updates() if u.effective_message
    ] == ["pending"]
    with pytest.raises(ValueError, match="HTTPS"):
        await async_set_webhook(bot, "http://ha.local:8123/api/webhook/x", caller)


def test_secret_token_alphabet() -> None:
    """Secrets use only what Telegram allows (A-Z a-z 0-9 _ -), 1-256 chars."""
    for _ in range(50):
        token = new_secret_token()
        assert 1 <= len(token) <= 256
        assert all(c.isascii() and (c.isalnum() or c in "_-") for c in token)


async def test_update_parse_roundtrip(bot: Bot, server: FakeTelegramServer) -> None:
    """The fake's updates are valid Bot API updates for PTB (sanity of the fake)."""
    update = Update.de_json(server.push_button(FAMILY, "x"), bot)
    assert update.callback_query is not None
    assert update.callback_query.data == "x"


async def test_resent_while_still_handling_is_not_handled_twice(
    bot: Bot, server: FakeTelegramServer
) -> None:
    """Telegram gives up waiting and resends while the first copy is in progress."""
    release = asyncio.Event()
    handled: list[int] = []

    async def slow(update: Update) -> None:
        await release.wait()  # e.g. a reply waiting out a long 429
        handled.append(update.update_id)

    hook = TelegramWebhook(bot, SECRET, slow, MemoryOffsetStore().store())
    await hook.async_load()
    body = body_of(server.push_message(FAMILY, "/garage"), server)
    first = asyncio.create_task(hook.async_handle(Request(headers(), body)))
    await asyncio.sleep(0.01)
    second = await hook.async_handle(Request(headers(), body))
    release.set()
    assert second.status == 202 and (await first).status == 202
    assert len(handled) == 1 and hook.stats.repeats == 1
