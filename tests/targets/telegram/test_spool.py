"""Large media go through a temporary file: bounded memory, no file left behind."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import hashlib
from pathlib import Path
import tempfile

from aiohttp import ClientSession
import pytest

from custom_components.notify_bridge.pipeline.dispatch import Dispatcher
from custom_components.notify_bridge.pipeline.models import (
    MediaItem,
    MediaType,
    Notification,
)
from custom_components.notify_bridge.targets.telegram import (
    SELF_HOSTED_LIMITS,
    RetryPolicy,
    TelegramBot,
    TelegramDestination,
)
from custom_components.notify_bridge.targets.telegram.limits import (
    MB,
    MEDIA_MEMORY_BYTES,
)
from custom_components.notify_bridge.targets.telegram.spool import Spool, SpooledFile
from tests.common import LOOPBACK
from tests.fakes.telegram_server import FakeTelegramServer


def leftovers(directory: Path) -> list[Path]:
    """Return what is left in a directory (a helper: tests must not block)."""
    return list(directory.iterdir())


def read(path: str) -> bytes:
    """Return a file's content."""
    return Path(path).read_bytes()


@pytest.fixture
def temp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Send temporary files to a directory the test can look into."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


@pytest.fixture
async def server(socket_enabled: None) -> AsyncIterator[FakeTelegramServer]:
    """The fake Bot API, as a self-hosted server (uploads up to 2000 MB)."""
    async with FakeTelegramServer(upload_limit=64 * MB) as fake:
        yield fake
        assert fake.spec_violations == []


async def test_spool_stays_in_memory_when_small(temp_dir: Path) -> None:
    """A body up to the memory bound is bytes; no file is made."""
    spool = Spool(memory_limit=100)
    await spool.write(b"x" * 60)
    await spool.write(b"y" * 40)
    assert await spool.finish() == b"x" * 60 + b"y" * 40
    assert leftovers(temp_dir) == []


async def test_spool_moves_large_body_to_disk(temp_dir: Path) -> None:
    """Beyond the bound the body is on disk, whole, with its hash."""
    spool = Spool(memory_limit=100, write_block=64)
    body = bytes(range(256)) * 8
    for start in range(0, len(body), 50):
        await spool.write(body[start : start + 50])
    spooled = await spool.finish()
    assert isinstance(spooled, SpooledFile)
    assert read(spooled.path) == body
    assert spooled.size == len(body)
    assert spooled.sha256 == hashlib.sha256(body).hexdigest()
    await spooled.remove()
    assert leftovers(temp_dir) == []


async def test_discard_leaves_nothing(temp_dir: Path) -> None:
    """A download that breaks after spilling removes its file."""
    spool = Spool(memory_limit=10, write_block=10)
    await spool.write(b"z" * 100)
    assert spool.path is not None
    await spool.discard()
    assert leftovers(temp_dir) == []


def _bot(
    server: FakeTelegramServer, session: ClientSession, **limits: int
) -> TelegramBot:
    return TelegramBot(
        server.token,
        session=session,
        api_base_url=server.api_root,
        limits=SELF_HOSTED_LIMITS.__class__(
            **{**_fields(SELF_HOSTED_LIMITS), **limits}
        ),
        url_policy=LOOPBACK,
        retry=RetryPolicy(base_delay=0.001),
    )


def _fields(limits: object) -> dict[str, int]:
    return {name: getattr(limits, name) for name in limits.__slots__}  # type: ignore[attr-defined]


async def test_large_video_uploaded_from_temp_file(
    server: FakeTelegramServer, temp_dir: Path
) -> None:
    """12 MB (over the memory bound) arrives whole; the temp file is gone after."""
    video = bytes(range(256)) * (12 * MB // 256)
    assert len(video) > MEDIA_MEMORY_BYTES
    url = server.add_media("big.mp4", video, "video/mp4")
    async with ClientSession() as session:
        bot = _bot(server, session)
        try:
            target = TelegramDestination(bot, destination_id="d", name="D", chat_id=42)
            summary = await Dispatcher().async_dispatch(
                [
                    (
                        target,
                        Notification(
                            "big", media=(MediaItem(MediaType.VIDEO, url=url),)
                        ),
                    )
                ]
            )
        finally:
            await bot.async_close()
    assert summary.status.value == "ok"
    (call,) = server.calls_to("sendVideo")
    assert call.files["video"] == video
    assert leftovers(temp_dir) == []


async def test_too_large_after_spilling_leaves_no_file(
    server: FakeTelegramServer, temp_dir: Path
) -> None:
    """The byte bound breaks the download on disk too; nothing is left behind."""
    url = server.add_media("huge.mp4", b"v" * (12 * MB), "video/mp4")
    async with ClientSession() as session:
        bot = _bot(server, session, video_bytes=11 * MB, document_bytes=11 * MB)
        try:
            target = TelegramDestination(bot, destination_id="d", name="D", chat_id=42)
            result = await target.async_deliver(
                Notification("huge", media=(MediaItem(MediaType.VIDEO, url=url),))
            )
        finally:
            await bot.async_close()
    assert result.media_skipped == 1
    assert server.calls_to("sendVideo") == []
    assert leftovers(temp_dir) == []


async def test_same_large_video_to_three_chats_downloads_once(
    server: FakeTelegramServer, temp_dir: Path
) -> None:
    """Three chats at once: one download, one temp file, one upload; then no file."""
    video = b"w" * (11 * MB)
    url = server.add_media("shared.mp4", video, "video/mp4")
    async with ClientSession() as session:
        bot = _bot(server, session)
        try:
            targets = [
                TelegramDestination(bot, destination_id=f"d{c}", name="D", chat_id=c)
                for c in (1, 2, 3)
            ]
            item = MediaItem(MediaType.VIDEO, url=url)
            summary = await Dispatcher().async_dispatch(
                [(t, Notification("v", media=(item,))) for t in targets]
            )
            assert len(bot.downloads) == 0
        finally:
            await bot.async_close()
    assert summary.status.value == "ok"
    assert server.media_requests == 1
    assert server.uploaded_bytes == len(video)
    assert len(server.calls_to("sendVideo")) == 3
    assert leftovers(temp_dir) == []


async def test_shared_download_survives_one_holder_leaving(temp_dir: Path) -> None:
    """A holder cancelled mid-download does not cancel it for the others."""
    from custom_components.notify_bridge.targets.telegram.downloads import (
        SharedDownloads,
    )

    started = asyncio.Event()
    finish = asyncio.Event()
    calls: list[str] = []

    async def fetch(url: str) -> bytes:
        calls.append(url)
        started.set()
        await finish.wait()
        return b"body"

    shared = SharedDownloads(fetch)
    first = asyncio.create_task(shared.acquire("u"))
    await started.wait()
    second = asyncio.create_task(shared.acquire("u"))
    await asyncio.sleep(0)
    first.cancel()
    await shared.release("u")
    finish.set()
    assert await second == b"body"
    await shared.release("u")
    assert calls == ["u"] and len(shared) == 0


async def test_album_of_large_videos_streams_each_file(
    server: FakeTelegramServer, temp_dir: Path
) -> None:
    """Two videos over the memory bound go as one album, each from its file."""
    bodies = [bytes([i]) * (11 * MB) for i in (1, 2)]
    urls = [server.add_media(f"v{i}.mp4", b, "video/mp4") for i, b in enumerate(bodies)]
    async with ClientSession() as session:
        bot = _bot(server, session)
        try:
            target = TelegramDestination(bot, destination_id="d", name="D", chat_id=42)
            items = tuple(MediaItem(MediaType.VIDEO, url=u) for u in urls)
            summary = await Dispatcher().async_dispatch(
                [(target, Notification("two", media=items))]
            )
        finally:
            await bot.async_close()
    assert summary.status.value == "ok"
    (call,) = server.calls_to("sendMediaGroup")
    assert sorted(call.files.values()) == sorted(bodies)
    assert leftovers(temp_dir) == []
