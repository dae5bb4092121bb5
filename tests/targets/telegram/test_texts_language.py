from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

from aiohttp import ClientSession
import pytest

from custom_components.notify_bridge.pipeline.models import MediaItem, MediaType
from custom_components.notify_bridge.targets.telegram import (
    OFFICIAL_LIMITS,
    RetryPolicy,
)
from custom_components.notify_bridge.targets.telegram.sender import TelegramBot
from tests.fakes.telegram_server import FakeTelegramServer, make_jpeg

from .test_sender import FAST, LOOPBACK, dest, html, sends

CLIP = "https://cdn.example/clip.mp4"
pytestmark = pytest.mark.usefixtures("socket_enabled")


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    """The fake Bot API; no call may break the spec."""
    async with FakeTelegramServer() as fake:
        yield fake
        assert fake.spec_violations == []


@pytest.fixture
async def make_bot(
    server: FakeTelegramServer,
) -> AsyncIterator[Callable[..., TelegramBot]]:
    """Bots talking to the fake, closed afterwards."""
    bots: list[TelegramBot] = []
    async with ClientSession() as session:

        def factory(**kwargs: Any) -> TelegramBot:
            bot = TelegramBot(
                server.token,
                session=session,
                retry=RetryPolicy(base_delay=0.001),
                url_policy=LOOPBACK,
                rate_limits=FAST,
                api_base_url=server.api_root,
                **kwargs,
            )
            bots.append(bot)
            return bot

        yield factory
        for bot in bots:
            await bot.async_close()


async def _notice(
    server: FakeTelegramServer,
    make_bot: Callable[..., TelegramBot],
    thumbnail: bytes | None,
    **options: Any,
) -> dict:
    """Send a video over the limit; return the notice call's parameters."""
    bot = make_bot(limits=replace(OFFICIAL_LIMITS, video_bytes=1500))
    item = MediaItem(
        MediaType.VIDEO, data=b"\x00" * 2048, thumbnail=thumbnail, url=CLIP
    )
    result = await dest(bot, **options).async_deliver(html("Отпуск", media=(item,)))
    assert result.media_skipped == 1
    # The summary (for the log and sensors) stays English.
    assert "video of 2.0 KB over the 1.5 KB video limit" in result.errors[-1]
    notices = [
        call.params
        for call in sends(server)
        if call.params.get("text", call.params.get("caption")) != "Отпуск"
    ]
    return notices[-1]


async def test_russian_chat_gets_a_russian_notice(
    server: FakeTelegramServer, make_bot: Callable[..., TelegramBot]
) -> None:
    """A chat set to Russian: "Видео не отправлено: …" and an «Открыть» link."""
    params = await _notice(server, make_bot, None, language="ru")
    assert params["text"] == (
        "Видео не отправлено: видео размером 2.0 KB больше предела 1.5 KB\n"
        f'<a href="{CLIP}">Открыть</a>'
    )


async def test_chat_without_language_reads_home_assistants(
    server: FakeTelegramServer, make_bot: Callable[..., TelegramBot]
) -> None:
    """No language of its own: Home Assistant's (given as the default)."""
    language = ["ru"]
    params = await _notice(
        server, make_bot, make_jpeg(), default_language=lambda: language[0]
    )
    assert params["caption"].startswith("Видео не отправлено")
    # Read at each delivery: Home Assistant's language may change while running.
    language[0] = "en"
    params = await _notice(
        server, make_bot, make_jpeg(), default_language=lambda: language[0]
    )
    assert params["caption"].startswith("Video not sent")


async def test_english_by_default(
    server: FakeTelegramServer, make_bot: Callable[..., TelegramBot]
) -> None:
    """Neither: English."""
    params = await _notice(server, make_bot, None, language="xx")
    assert params["text"].startswith("Video not sent: video of 2.0 KB")
    assert params["text"].endswith(">Open</a>")
