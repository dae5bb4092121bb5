"""Large media go through a temporary file: bounded memory, no file left behind."""

from __future__ import annotations

from collections.abc import AsyncIterator
import hashlib
from pathlib import Path
import tempfile

from aiohttp import ClientSession
import pytest

from custom_components.notify_bridge.net import UrlPolicy
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
from tests.fakes.telegram_server import FakeTelegramServer

LOOPBACK = UrlPolicy(allowlist=("127.0.0.1/32",))


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
    assert list(temp_dir.iterdir()) == []


async def test_spool_moves_large_body_to_disk(temp_dir: Path) -> None:
    """Beyond the bound the body is on disk, whole, with its hash."""
    spool = Spool(memory_limit=100, write_block=64)
    body = bytes(range(256)) * 8
    for start in range(0, len(body), 50):
        await spool.write(body[start : start + 50])
    spooled = await spool.finish()
    assert isinstance(spooled, SpooledFile)
    assert Path(spooled.path).read_bytes() == body
    assert spooled.size == len(body)
    assert spooled.sha256 == hashlib.sha256(body).hexdigest()
    await spooled.remove()
    assert list(temp_dir.iterdir()) == []


async def test_discard_leaves_nothing(temp_dir: Path) -> None:
    """A download that breaks after spilling removes its file."""
    spool = Spool(memory_limit=10, write_block=10)
    await spool.write(b"z" * 100)
    assert spool.path is not None
    await spool.discard()
    assert list(temp_dir.iterdir()) == []


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
    assert list(temp_dir.iterdir()) == []


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
    assert list(temp_dir.iterdir()) == []
