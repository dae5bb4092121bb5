"""Telegram sender benchmark against the loopback fake Bot API (no network).

(a) a 10-photo album sent twice: bytes uploaded the first and second time (the file_id
    cache should make the second time 0);
(b) 300 messages to 3 chats (one a group) through the fake that enforces Telegram's
    flood limits: wall time divided by the minimum the limits allow, and the number of
    429 answers (pacing is proactive, so the target is 0);
(c) `fanout_upload_bytes_ratio`: the same new 10-photo album to 3 chats at once,
    bytes uploaded divided by the bytes of the album to 1 chat (target 1.0: uploads
    in flight are shared; `fanout_url_downloads_ratio` the same for media URLs:
    downloads are shared too);
(d) `group_album_429s`: 25 photos to a group with the limits on (an album of N
    counts as N messages; target 0);
(e) `timeout_duplicates`: sends whose answer is lost after delivery (text, photo,
    album), extra copies that reached the chat (target 0).

Durations of the flood limits are scaled by TIME_SCALE for both the sender and the
fake, and the minimum is computed for the same scaled limits, so the ratio is honest.
The last printed line is one JSON object of figures.
"""

from __future__ import annotations

import asyncio
from collections import deque
import io
import json
from pathlib import Path
import random
import sys
import time

ROOT = Path(__file__).resolve().parents[1]
# Scripts here are named like packages ("telegram", "email"): drop this folder from the
# path before any third-party import, so `import telegram` finds python-telegram-bot and
# `import email` the standard library; import the project from the root.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]
sys.path.insert(0, str(ROOT))

import aiohttp
from PIL import Image

from custom_components.notify_bridge.net import UrlPolicy
from custom_components.notify_bridge.pipeline.dispatch import Dispatcher
from custom_components.notify_bridge.pipeline.models import (
    MediaItem,
    MediaType,
    Notification,
    OutputFormat,
)
from custom_components.notify_bridge.targets.telegram import (
    TELEGRAM_RATE_LIMITS,
    RateLimits,
    TelegramBot,
    TelegramDestination,
)
from tests.fakes.telegram_server import (
    FakeRateLimits,
    FakeTelegramServer,
)

TIME_SCALE = 0.1
MESSAGES = 300
CHATS = (1001, 1002, -1001234567890)


def noise_jpeg(seed: int, width: int = 480, height: int = 360) -> bytes:
    """Return a JPEG that does not compress to nothing (realistic upload size)."""
    rng = random.Random(seed)
    image = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


async def album_twice(session: aiohttp.ClientSession) -> dict[str, int]:
    """Send the same 10-photo album twice; return uploaded bytes per send."""
    media = tuple(
        MediaItem(MediaType.PHOTO, data=noise_jpeg(i), identity=f"asset-{i}:preview")
        for i in range(10)
    )
    notification = Notification(
        "<b>Album</b> with 10 photos", media=media, output_format=OutputFormat.HTML
    )
    async with FakeTelegramServer() as server:
        bot = TelegramBot(server.token, session=session, api_base_url=server.api_root)
        dest = TelegramDestination(bot, destination_id="a", name="album", chat_id=7)
        try:
            await dest.async_deliver(notification)
            first = server.uploaded_bytes
            await dest.async_deliver(notification)
            second = server.uploaded_bytes - first
        finally:
            await bot.async_close()
        assert not server.spec_violations, server.spec_violations
        return {
            "album_first_upload_bytes": first,
            "album_second_upload_bytes": second,
            "album_calls": len(server.calls_to("sendMediaGroup")),
        }


def minimum_seconds(limits: RateLimits, per_chat: dict[int, int]) -> float:
    """Return the earliest time the last message can go, for these limits.

    Greedy earliest-possible scheduling, message by message in round-robin order, is
    optimal here: every constraint only ever pushes a send later.
    """
    last: dict[int, float] = {}
    group_sends: dict[int, deque[float]] = {chat: deque() for chat in per_chat}
    global_sends: deque[float] = deque()
    remaining = dict(per_chat)
    finish = 0.0
    while any(remaining.values()):
        for chat in [c for c, n in remaining.items() if n]:
            t = last[chat] + limits.per_chat_interval if chat in last else 0.0
            if chat < 0 and len(group_sends[chat]) >= limits.group_max:
                t = max(t, group_sends[chat][-limits.group_max] + limits.group_window)
            if len(global_sends) >= limits.global_max:
                t = max(t, global_sends[-limits.global_max] + limits.global_window)
            last[chat] = t
            global_sends.append(t)
            if chat < 0:
                group_sends[chat].append(t)
            remaining[chat] -= 1
            finish = max(finish, t)
    return finish


async def paced_messages(session: aiohttp.ClientSession) -> dict[str, float]:
    """Send 300 messages to 3 chats as fast as the (scaled) limits allow."""
    limits = TELEGRAM_RATE_LIMITS.scaled(TIME_SCALE)
    fake_limits = FakeRateLimits(
        per_chat_interval=limits.per_chat_interval,
        group_max=limits.group_max,
        group_window=limits.group_window,
        global_max=limits.global_max,
        global_window=limits.global_window,
    )
    per_chat = {chat: MESSAGES // len(CHATS) for chat in CHATS}
    async with FakeTelegramServer(
        enforce_limits=True, rate_limits=fake_limits
    ) as server:
        bot = TelegramBot(
            server.token, session=session, api_base_url=server.api_root,
            rate_limits=limits,
        )  # fmt: skip
        dests = [
            TelegramDestination(bot, destination_id=str(c), name=str(c), chat_id=c)
            for c in CHATS
        ]
        jobs = [
            dest.async_deliver(Notification(f"message {i}"))
            for i in range(MESSAGES // len(CHATS))
            for dest in dests
        ]
        started = time.perf_counter()
        try:
            results = await asyncio.gather(*jobs)
        finally:
            await bot.async_close()
        wall = time.perf_counter() - started
        assert all(r.success for r in results)
        assert len(server.messages) == MESSAGES, len(server.messages)
        assert not server.spec_violations, server.spec_violations
        minimum = minimum_seconds(limits, per_chat)
        return {
            "messages": MESSAGES,
            "time_scale": TIME_SCALE,
            "wall_seconds": round(wall, 3),
            "minimum_seconds": round(minimum, 3),
            "wall_over_minimum": round(wall / minimum, 4),
            "responses_429": server.rate_limited,
        }


def photo_album(count: int, seed: int = 100) -> tuple[MediaItem, ...]:
    """Return `count` new photos (bytes, no identity: keyed by content hash)."""
    return tuple(
        MediaItem(MediaType.PHOTO, data=noise_jpeg(seed + i, 320, 240))
        for i in range(count)
    )


async def fanout(session: aiohttp.ClientSession) -> dict[str, float]:
    """The same new album to 1 chat, then (a fresh bot) to 3 chats at once."""
    uploaded: list[int] = []
    for chats in ((11,), (21, 22, 23)):
        album = photo_album(10)
        async with FakeTelegramServer() as server:
            bot = TelegramBot(
                server.token, session=session, api_base_url=server.api_root
            )
            dests = [
                TelegramDestination(bot, destination_id=str(c), name=str(c), chat_id=c)
                for c in chats
            ]
            try:
                await Dispatcher().async_dispatch(
                    [(d, Notification("album", media=album)) for d in dests]
                )
            finally:
                await bot.async_close()
            assert len(server.calls_to("sendMediaGroup")) == len(chats)
            uploaded.append(server.uploaded_bytes)
    downloads = [await _url_fanout(session, chats) for chats in ((11,), (21, 22, 23))]
    return {
        "fanout_one_chat_bytes": uploaded[0],
        "fanout_three_chats_bytes": uploaded[1],
        "fanout_upload_bytes_ratio": round(uploaded[1] / uploaded[0], 4),
        "fanout_url_downloads_ratio": round(downloads[1] / downloads[0], 4),
    }


async def _url_fanout(session: aiohttp.ClientSession, chats: tuple[int, ...]) -> int:
    """The same album of media URLs to `chats` at once; return media downloads."""
    async with FakeTelegramServer() as server:
        urls = [
            server.add_media(f"p{i}.jpg", noise_jpeg(700 + i, 320, 240))
            for i in range(10)
        ]
        album = tuple(MediaItem(MediaType.PHOTO, url=url) for url in urls)
        bot = TelegramBot(
            server.token, session=session, api_base_url=server.api_root,
            url_policy=UrlPolicy(allowlist=("127.0.0.1/32",)),
        )  # fmt: skip
        dests = [
            TelegramDestination(bot, destination_id=str(c), name=str(c), chat_id=c)
            for c in chats
        ]
        try:
            await Dispatcher().async_dispatch(
                [(d, Notification("album", media=album)) for d in dests]
            )
        finally:
            await bot.async_close()
        assert len(server.calls_to("sendMediaGroup")) == len(chats)
        return server.media_requests


async def group_album(session: aiohttp.ClientSession) -> dict[str, float]:
    """25 photos to a group through the fake enforcing the (scaled) limits."""
    limits = TELEGRAM_RATE_LIMITS.scaled(TIME_SCALE)
    fake_limits = FakeRateLimits(
        per_chat_interval=limits.per_chat_interval,
        group_max=limits.group_max,
        group_window=limits.group_window,
        global_max=limits.global_max,
        global_window=limits.global_window,
    )
    async with FakeTelegramServer(
        enforce_limits=True, rate_limits=fake_limits
    ) as server:
        bot = TelegramBot(
            server.token, session=session, api_base_url=server.api_root,
            rate_limits=limits,
        )  # fmt: skip
        dest = TelegramDestination(bot, destination_id="g", name="g", chat_id=-1009)
        started = time.perf_counter()
        try:
            result = await dest.async_deliver(
                Notification("25 photos", media=photo_album(25, seed=300))
            )
        finally:
            await bot.async_close()
        return {
            "group_album_items_delivered": result.media_delivered,
            "group_album_seconds": round(time.perf_counter() - started, 3),
            "group_album_429s": server.rate_limited,
        }


async def timeouts(session: aiohttp.ClientSession) -> dict[str, int]:
    """Each kind of send delivered but its answer lost: copies beyond the first."""
    cases = {
        "sendMessage": Notification("hello"),
        "sendPhoto": Notification("one", media=photo_album(1, seed=500)),
        "sendMediaGroup": Notification("three", media=photo_album(3, seed=600)),
    }
    duplicates = unconfirmed = 0
    for method, notification in cases.items():
        async with FakeTelegramServer() as server:
            bot = TelegramBot(
                server.token, session=session, api_base_url=server.api_root,
                request_timeout=0.3,
            )  # fmt: skip
            server.deliver_then_hang(1.0, method=method)
            dest = TelegramDestination(bot, destination_id="t", name="t", chat_id=5)
            try:
                summary = await Dispatcher().async_dispatch([(dest, notification)])
            finally:
                await bot.async_close()
            duplicates += len(server.calls_to(method)) - 1
            unconfirmed += sum(r.unconfirmed for r in summary.results)
    return {"timeout_duplicates": duplicates, "timeout_unconfirmed": unconfirmed}


async def main() -> None:
    """Run every part and print the figures."""
    async with aiohttp.ClientSession() as session:
        album = await album_twice(session)
        print("album:", album)
        paced = await paced_messages(session)
        print("pacing:", paced)
        spread = await fanout(session)
        print("fanout:", spread)
        group = await group_album(session)
        print("group album:", group)
        lost = await timeouts(session)
        print("lost answers:", lost)
    print(json.dumps({**album, **paced, **spread, **group, **lost}))


if __name__ == "__main__":
    asyncio.run(main())
