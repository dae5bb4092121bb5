"""Telegram inbound benchmark: commands and updates through the webhook path.

(a) `command_reply_ms_p50`: a /status update arrives at the webhook endpoint (secret
    check, bounded read, JSON, Update parsing, access and rate checks, the built-in,
    the reply request built by python-telegram-bot) until the sendMessage request is
    handed to the transport. The transport answers in-process, so only the bridge's
    own CPU is measured (no network, no fake server in the figure).
(b) `updates_per_second`: a mix of plain text, custom commands and button presses
    (each answered or turned into an event) through the same endpoint, back to back.
(c) the same mix over real HTTP on 127.0.0.1 (aiohttp server as in Home Assistant,
    client in the same process, so this one includes the client's CPU too).

The last printed line is one JSON object of figures.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
import json
from pathlib import Path
import statistics
import sys
import time
from typing import Any, override

ROOT = Path(__file__).resolve().parents[1]
# Keep `import telegram` on python-telegram-bot, and import the project from the root.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]
sys.path.insert(0, str(ROOT))

from aiohttp import ClientSession, web
from multidict import CIMultiDict
from telegram import Bot
from telegram.request import BaseRequest, RequestData

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
from custom_components.notify_bridge.targets.telegram.updates import MemoryOffsetStore
from custom_components.notify_bridge.targets.telegram.webhook import (
    SECRET_HEADER,
    TelegramWebhook,
    new_secret_token,
)

TOKEN = "123456:BENCH-TOKEN"  # noqa: S105 - a made-up token, never sent anywhere
CHATS = (-1001, -1002, 501)
COMMANDS = 2000
UPDATES = 6000
HTTP_UPDATES = 1500
SECRET = new_secret_token()


class InProcessRequest(BaseRequest):
    """A PTB transport that answers at once; records when each request left."""

    def __init__(self) -> None:
        self.sent_at: list[float] = []
        self._message_id = 0

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    @override
    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        self.sent_at.append(time.perf_counter())
        name = url.rsplit("/", 1)[-1]
        if name != "sendMessage":
            return 200, b'{"ok": true, "result": true}'
        self._message_id += 1
        params = request_data.parameters if request_data else {}
        result = {
            "message_id": self._message_id,
            "date": 0,
            "chat": {"id": int(params.get("chat_id", 0)), "type": "supergroup"},
            "text": str(params.get("text", "")),
        }
        return 200, json.dumps({"ok": True, "result": result}).encode()


class Status:
    """A status provider with fixed answers (its cost is not the bridge's)."""

    async def async_status(self, destination_ids: Sequence[str]) -> StatusReport:
        return StatusReport(
            [DestinationStatus(d, d, 2, 1) for d in destination_ids], ["Immich"]
        )

    async def async_latest(
        self, destination_id: str, limit: int
    ) -> Sequence[DeliveredNotification]:
        return [
            DeliveredNotification("d", "T", "M", datetime(2026, 1, 1, tzinfo=UTC))
        ] * limit

    async def async_mute(self, destination_id: str, until: datetime) -> None:
        return None

    async def async_unmute(self, destination_id: str) -> int:
        return 0

    async def async_flush(self, destination_id: str) -> int:
        return 0


class Stream:
    """A request body stream over bytes."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    async def read(self, n: int = -1) -> bytes:
        chunk, self._body = self._body[:n], self._body[n:]
        return chunk


class Request:
    """What the webhook reads of a request (as HA's aiohttp request offers it)."""

    def __init__(self, body: bytes) -> None:
        self.method = "POST"
        self.headers = CIMultiDict(
            {"Content-Type": "application/json", SECRET_HEADER: SECRET}
        )
        self.content = Stream(body)


def message_update(update_id: int, chat: int, text: str) -> bytes:
    """Return a Telegram message update as Telegram posts it."""
    message: dict[str, Any] = {
        "message_id": update_id,
        "date": 0,
        "chat": {"id": chat, "type": "supergroup", "title": "Home"},
        "from": {"id": 42, "is_bot": False, "first_name": "Ann", "username": "ann"},
        "text": text,
    }
    if text.startswith("/"):
        message["entities"] = [
            {
                "type": "bot_command",
                "offset": 0,
                "length": len(text.split(maxsplit=1)[0]),
            }
        ]
    return json.dumps({"update_id": update_id, "message": message}).encode()


def button_update(update_id: int, chat: int) -> bytes:
    """Return a callback_query update."""
    query = {
        "id": f"q{update_id}",
        "from": {"id": 42, "is_bot": False, "first_name": "Ann"},
        "chat_instance": "c",
        "data": "garage:open",
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": chat, "type": "supergroup", "title": "Home"},
            "text": "buttons",
        },
    }
    return json.dumps({"update_id": update_id, "callback_query": query}).encode()


async def endpoint(
    events: list[InboundEvent],
) -> tuple[TelegramWebhook, InProcessRequest, Bot]:
    """Return a webhook endpoint wired to a router and the in-process transport."""
    transport = InProcessRequest()
    bot = Bot(TOKEN, request=transport, get_updates_request=InProcessRequest())
    config = InboundConfig(
        bot_username="bench_bot",
        destinations=tuple(ChatDestination(f"d{c}", c) for c in CHATS),
        # The benchmark is about throughput, not about the limiter refusing it.
        commands_per_window=10**9,
    )
    router = InboundRouter(
        bot, config, Status(), events.append, caller=RetryAfterCaller()
    )
    hook = TelegramWebhook(
        bot, SECRET, router.async_handle_update, MemoryOffsetStore().store()
    )
    await hook.async_load()
    return hook, transport, bot


async def command_replies() -> dict[str, float]:
    """Time /status from request in to reply handed to the transport."""
    hook, transport, _ = await endpoint([])
    samples = []
    bodies = [message_update(i + 1, CHATS[i % 3], "/status") for i in range(COMMANDS)]
    for body in bodies:
        started = time.perf_counter()
        result = await hook.async_handle(Request(body))
        assert result.status == 202, result.reason
        samples.append((transport.sent_at[-1] - started) * 1000)
    samples = samples[100:]  # warm-up
    return {
        "command_reply_ms_p50": round(statistics.median(samples), 3),
        "command_reply_ms_p95": round(statistics.quantiles(samples, n=20)[18], 3),
    }


def update_mix(count: int) -> list[bytes]:
    """Return text, custom commands and button presses in turn."""
    bodies = []
    for i in range(count):
        chat = CHATS[i % 3]
        kind = i % 3
        if kind == 0:
            bodies.append(message_update(i + 1, chat, f"hello {i}"))
        elif kind == 1:
            bodies.append(message_update(i + 1, chat, f"/garage open {i}"))
        else:
            bodies.append(button_update(i + 1, chat))
    return bodies


async def throughput() -> dict[str, float]:
    """Updates per second through the endpoint, and the CPU each one costs."""
    events: list[InboundEvent] = []
    hook, _, _ = await endpoint(events)
    bodies = update_mix(UPDATES)
    cpu, started = time.process_time(), time.perf_counter()
    for body in bodies:
        await hook.async_handle(Request(body))
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    assert len(events) == UPDATES, len(events)
    return {
        "updates_per_second": round(UPDATES / elapsed),
        "update_cpu_us": round(cpu / UPDATES * 1e6, 1),
    }


async def http_throughput() -> dict[str, float]:
    """The same mix POSTed over loopback HTTP, one at a time as Telegram does."""
    events: list[InboundEvent] = []
    hook, _, _ = await endpoint(events)

    async def handle(request: web.Request) -> web.Response:
        return (await hook.async_handle(request)).to_response()

    app = web.Application()
    app.router.add_post("/api/webhook/tg", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/api/webhook/tg"
    headers: Mapping[str, str] = {
        "Content-Type": "application/json",
        SECRET_HEADER: SECRET,
    }
    bodies = update_mix(HTTP_UPDATES)
    try:
        async with ClientSession() as session:
            started = time.perf_counter()
            for body in bodies:
                async with session.post(url, data=body, headers=headers) as resp:
                    assert resp.status == 202
            elapsed = time.perf_counter() - started
    finally:
        await runner.cleanup()
    assert len(events) == HTTP_UPDATES
    return {"updates_per_second_http": round(HTTP_UPDATES / elapsed)}


async def main() -> None:
    """Run the parts and print the figures."""
    replies = await command_replies()
    print(
        f"/status reply (bridge CPU): p50 {replies['command_reply_ms_p50']} ms,"
        f" p95 {replies['command_reply_ms_p95']} ms over {COMMANDS - 100} commands"
    )
    rate = await throughput()
    print(
        f"webhook path: {rate['updates_per_second']} updates/s,"
        f" {rate['update_cpu_us']} µs CPU per update ({UPDATES} updates)"
    )
    http = await http_throughput()
    print(
        f"over loopback HTTP (client in-process): {http['updates_per_second_http']}"
        f" updates/s ({HTTP_UPDATES} updates)"
    )
    print(json.dumps({**replies, **rate, **http}))


if __name__ == "__main__":
    asyncio.run(main())
