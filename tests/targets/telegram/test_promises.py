"""Issue 11: deliveries exactly as promised, against the fake Bot API (real PTB).

Text that survives (parse modes in any case, escaped titles, a fallback that keeps
every character, tags closed and reopened at cuts), uploads once for many chats, no
429 for albums in groups, no duplicate after a lost answer, a group that became a
supergroup, and slow downloads that hold no lock and no send slot.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime
import time
from typing import Any

from aiohttp import ClientSession
import pytest

from custom_components.notify_bridge.pipeline.dispatch import Dispatcher
from custom_components.notify_bridge.pipeline.models import (
    DeliveryError,
    DeliveryResult,
    DispatchStatus,
    MediaItem,
    MediaType,
    Notification,
    OutputFormat,
)
from custom_components.notify_bridge.pipeline.policy import DeliveryPolicy
from custom_components.notify_bridge.targets.telegram import (
    OFFICIAL_LIMITS,
    RateLimits,
    RetryPolicy,
    TelegramBot,
    TelegramDestination,
)
from tests.common import FAST, LOOPBACK
from tests.fakes.telegram_server import (
    FakeRateLimits,
    FakeTelegramServer,
    html_problem,
    make_jpeg,
)

pytestmark = pytest.mark.usefixtures("socket_enabled")


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    """Run the fake; no call may break the Bot API spec."""
    async with FakeTelegramServer() as fake:
        yield fake
        assert fake.spec_violations == []


@pytest.fixture
async def make_bot(
    server: FakeTelegramServer,
) -> AsyncIterator[Callable[..., TelegramBot]]:
    """Return a factory of bots talking to the fake."""
    bots: list[TelegramBot] = []
    async with ClientSession() as session:

        def factory(**kwargs: Any) -> TelegramBot:
            kwargs.setdefault("retry", RetryPolicy(base_delay=0.001))
            kwargs.setdefault("url_policy", LOOPBACK)
            kwargs.setdefault("rate_limits", FAST)
            kwargs.setdefault("api_base_url", server.api_root)
            bot = TelegramBot(server.token, session=session, **kwargs)
            bots.append(bot)
            return bot

        yield factory
        for bot in bots:
            await bot.async_close()


def dest(
    bot: TelegramBot, chat_id: int | str = 42, dest_id: str = "dest-1", **kw: Any
) -> TelegramDestination:
    """Return a destination of `bot`."""
    return TelegramDestination(
        bot, destination_id=dest_id, name=f"chat {chat_id}", chat_id=chat_id, **kw
    )


def photos(count: int) -> tuple[MediaItem, ...]:
    """Return distinct small photos with bytes."""
    return tuple(
        MediaItem(MediaType.PHOTO, data=make_jpeg(40 + i, 30)) for i in range(count)
    )


# ---- text ----------------------------------------------------------------------------


async def test_lower_case_html_and_title_with_markup_characters(
    server: FakeTelegramServer, make_bot: Callable[..., TelegramBot]
) -> None:
    """parse_mode "html" is HTML; a title with & and < is escaped, formatting kept."""
    note = Notification("<i>kept</i>", title="Tom & Jerry <3", parse_mode="html")
    result = await dest(make_bot()).async_deliver(note)
    (sent,) = server.calls_to("sendMessage")
    assert len(server.calls) == 1  # accepted the first time, no fallback
    assert sent.params["parse_mode"] == "HTML"
    assert sent.params["text"] == "<b>Tom &amp; Jerry &lt;3</b>\n<i>kept</i>"
    assert result.success


async def test_fallback_keeps_every_character_and_is_not_ok(
    server: FakeTelegramServer, make_bot: Callable[..., TelegramBot]
) -> None:
    """Refused HTML goes plain minus Telegram's markup only, and is not "ok"."""
    note = Notification(
        "<b>if a < b and c > d</b> &amp; <br> done", output_format=OutputFormat.HTML
    )
    result = await dest(make_bot()).async_deliver(note)
    refused, plain = server.calls
    assert refused.status == 400
    assert plain.params["text"] == "if a < b and c > d & <br> done"
    assert "parse_mode" not in plain.params
    assert not result.success
    assert any("plain text" in error for error in result.errors)


async def test_plain_text_is_sent_as_plain(
    server: FakeTelegramServer, make_bot: Callable[..., TelegramBot]
) -> None:
    """No parse mode and plain output: `5 < 6` goes out as it is, once."""
    result = await dest(make_bot()).async_deliver(Notification("5 < 6", title="T&C"))
    (sent,) = server.calls
    assert sent.params["text"] == "T&C\n5 < 6"
    assert "parse_mode" not in sent.params
    assert result.success


async def test_split_closes_and_reopens_tags(
    server: FakeTelegramServer, make_bot: Callable[..., TelegramBot]
) -> None:
    """A bold link longer than a message: each part valid HTML, both formatted."""
    body = '<b><a href="https://example.com/x">' + "word " * 1200 + "</a></b> end"
    result = await dest(make_bot()).async_deliver(
        Notification(body, output_format=OutputFormat.HTML)
    )
    texts = [c.params["text"] for c in server.calls_to("sendMessage")]
    assert len(server.calls) == len(texts) >= 2  # nothing was refused
    for text in texts:
        assert len(text) <= 4096
        assert html_problem(text) is None
    assert texts[1].startswith('<b><a href="https://example.com/x">word')
    assert texts[0].endswith("</a></b>")
    assert result.success


# ---- uploads and limits --------------------------------------------------------------


async def test_same_album_to_three_chats_uploads_once(
    server: FakeTelegramServer, make_bot: Callable[..., TelegramBot]
) -> None:
    """Concurrent deliveries share the upload in flight: bytes for 3 = bytes for 1."""
    album = photos(4)
    single_bytes = sum(len(item.data or b"") for item in album)
    bot = make_bot()
    destinations = [dest(bot, chat, f"d{chat}") for chat in (1, 2, 3)]
    results = await asyncio.gather(
        *(d.async_deliver(Notification("x", media=album)) for d in destinations)
    )
    assert all(r.success and r.media_delivered == 4 for r in results)
    assert server.uploaded_bytes == single_bytes
    assert {c.params["chat_id"] for c in server.calls_to("sendMediaGroup")} == {1, 2, 3}


async def test_album_counts_each_item_toward_group_limit(
    make_bot: Callable[..., TelegramBot],
) -> None:
    """25 photos to a group: albums weigh 10, 10, 5 messages, so no 429."""
    scale = 0.02
    limits = FakeRateLimits(
        per_chat_interval=scale,
        group_max=20,
        group_window=60 * scale,
        global_max=30,
        global_window=scale,
    )
    async with FakeTelegramServer(enforce_limits=True, rate_limits=limits) as fake:
        bot = TelegramBot(
            fake.token,
            session=make_bot().session,
            api_base_url=fake.api_root,
            rate_limits=RateLimits().scaled(scale),
            retry=RetryPolicy(base_delay=0.001),
        )
        try:
            result = await dest(bot, -100777).async_deliver(
                Notification("", media=photos(25))
            )
        finally:
            await bot.async_close()
        assert fake.rate_limited == 0
        assert result.media_delivered == 25


async def test_too_big_video_with_refused_thumbnail_still_sends_link(
    server: FakeTelegramServer, make_bot: Callable[..., TelegramBot]
) -> None:
    """The "video not sent" notice with its link arrives as text."""
    bot = make_bot(limits=replace(OFFICIAL_LIMITS, video_bytes=100))
    url = server.add_media("clip.mp4", b"v" * 500, "video/mp4")
    video = MediaItem(MediaType.VIDEO, url=url, thumbnail=b"not a jpeg")
    server.fail_next("Bad Request: IMAGE_PROCESS_FAILED", method="sendPhoto")
    result = await dest(bot).async_deliver(
        Notification("new clip", output_format=OutputFormat.HTML, media=(video,))
    )
    notices = [c.params["text"] for c in server.calls_to("sendMessage")]
    assert any("Video not sent" in t and url in t for t in notices)
    assert result.media_skipped == 1


# ---- no duplicates -------------------------------------------------------------------


async def test_lost_answer_is_never_sent_twice(
    server: FakeTelegramServer, make_bot: Callable[..., TelegramBot]
) -> None:
    """Delivered but the answer timed out: unconfirmed, partial, one message."""
    bot = make_bot(request_timeout=0.3)
    server.deliver_then_hang(2.0, method="sendMessage")
    dispatcher = Dispatcher()
    summary = await dispatcher.async_dispatch([(dest(bot), Notification("hello"))])
    assert len(server.calls_to("sendMessage")) == 1
    assert summary.status is DispatchStatus.PARTIAL
    (result,) = summary.results
    assert result.unconfirmed == 1
    assert any("unconfirmed" in error for error in summary.errors)


async def test_album_answer_lost_not_resent(
    server: FakeTelegramServer, make_bot: Callable[..., TelegramBot]
) -> None:
    """An album whose answer was lost is not sent again, item by item or whole."""
    bot = make_bot(request_timeout=0.5)
    server.deliver_then_hang(3.0, method="sendMediaGroup")
    result = await dest(bot).async_deliver(Notification("", media=photos(3)))
    assert len(server.calls_to("sendMediaGroup")) == 1
    assert server.calls_to("sendPhoto") == []
    assert result.unconfirmed == 1 and not result.success


async def test_connection_refused_is_retried(
    make_bot: Callable[..., TelegramBot],
) -> None:
    """Nothing reached Telegram (connect failed): retried, then transient failure."""
    bot = make_bot(api_base_url="http://127.0.0.1:9", request_timeout=1.0)
    with pytest.raises(Exception) as err:
        await dest(bot).async_deliver(Notification("x"))
    assert not getattr(err.value, "permanent", True)
    assert "unconfirmed" not in str(err.value)


# ---- migration -----------------------------------------------------------------------


async def test_group_upgraded_to_supergroup(
    server: FakeTelegramServer, make_bot: Callable[..., TelegramBot]
) -> None:
    """migrate_to_chat_id: the destination moves to the new id and delivers."""
    migrated: list[tuple[str, int]] = []
    server.migrate_chat(-42, -1000042)
    target = dest(
        make_bot(), -42, on_chat_migrated=lambda d, c: migrated.append((d, c))
    )
    first = await target.async_deliver(Notification("one"))
    second = await target.async_deliver(Notification("two"))
    assert first.success and second.success
    chats = [c.params["chat_id"] for c in server.calls_to("sendMessage")]
    assert chats == [-1000042, -1000042]
    assert migrated == [("dest-1", -1000042)]
    assert target.chat_id == -1000042


# ---- slow downloads ------------------------------------------------------------------


def _policy() -> DeliveryPolicy:
    return DeliveryPolicy(
        clock=lambda: datetime.now(UTC),
        retry=RetryPolicy(base_delay=0.001, max_delay=0.004, budget=1.0),
    )


async def test_slow_download_holds_no_send_slot(
    server: FakeTelegramServer, make_bot: Callable[..., TelegramBot]
) -> None:
    """With one send slot, a text to another chat does not wait for a download."""
    server.media_delay = 0.8
    bot = make_bot()
    url = server.add_media("slow.jpg", make_jpeg(50, 40))
    dispatcher = Dispatcher(max_concurrent_sends=1, policy=_policy())
    slow = dispatcher.async_dispatch(
        [
            (
                dest(bot, 1, "a"),
                Notification("a", media=(MediaItem(MediaType.PHOTO, url=url),)),
            )
        ]
    )
    slow_task = asyncio.create_task(slow)
    await asyncio.sleep(0.1)  # the download is under way
    started = time.monotonic()
    quick = await dispatcher.async_dispatch([(dest(bot, 2, "b"), Notification("b"))])
    assert quick.status is DispatchStatus.OK
    # The text went while the download still ran (it takes 0.8 s).
    assert not slow_task.done()
    assert time.monotonic() - started < 0.7
    assert (await slow_task).status is DispatchStatus.OK


async def test_slow_downloads_to_one_destination_overlap_in_order(
    server: FakeTelegramServer, make_bot: Callable[..., TelegramBot]
) -> None:
    """Three sends to one chat download at once and still arrive in order."""
    server.media_delay = 1.0
    bot = make_bot()
    target = dest(bot, 5, "one")
    dispatcher = Dispatcher(policy=_policy())

    def note(i: int) -> Notification:
        url = server.add_media(f"p{i}.jpg", make_jpeg(30 + i, 30))
        return Notification(f"n{i}", media=(MediaItem(MediaType.PHOTO, url=url),))

    started = time.monotonic()
    tasks = []
    for i in range(3):
        tasks.append(
            asyncio.create_task(dispatcher.async_dispatch([(target, note(i))]))
        )
        await asyncio.sleep(0)  # arrival order 0, 1, 2
    summaries = await asyncio.gather(*tasks)
    assert all(s.status is DispatchStatus.OK for s in summaries)
    assert time.monotonic() - started < 2.5  # not 3 x 1 s in a row
    captions = [c.params.get("caption") for c in server.calls_to("sendPhoto")]
    assert captions == ["n0", "n1", "n2"]


# ---- statuses ------------------------------------------------------------------------


def _result(**kw: Any) -> DeliveryResult:
    return DeliveryResult(destination_id="d", destination_name="D", **kw)


@pytest.mark.parametrize(
    ("results", "status"),
    [
        ([_result(success=False, queued=True)], DispatchStatus.QUEUED),
        ([_result(success=True, deferred=True)], DispatchStatus.DEFERRED),
        (
            [_result(success=True), _result(success=False, queued=True)],
            DispatchStatus.QUEUED,
        ),
        (
            [_result(success=True, deferred=True), _result(success=False)],
            DispatchStatus.PARTIAL,
        ),
        ([_result(success=False, unconfirmed=1)], DispatchStatus.PARTIAL),
        ([_result(success=False)], DispatchStatus.FAIL),
        ([_result(success=True)], DispatchStatus.OK),
    ],
)
def test_dispatch_statuses(
    results: list[DeliveryResult], status: DispatchStatus
) -> None:
    """Queued and deferred outcomes have their own status, never "fail"."""
    from custom_components.notify_bridge.pipeline.dispatch import summarize

    summary = summarize(
        "id", results, started_at=datetime.now(UTC), started=time.perf_counter()
    )
    assert summary.status is status
    assert summary.as_dict()["status"] == status.value


async def test_migration_followed_once_not_in_a_loop(
    server: FakeTelegramServer, make_bot: Callable[..., TelegramBot]
) -> None:
    """A chat that answers migrate_to again after moving is refused, not chased."""
    server.migrate_chat(-42, -100)
    server.migrate_chat(-100, -42)  # hostile: points back
    target = dest(make_bot(), -42)
    with pytest.raises(DeliveryError) as err:
        await target.async_deliver(Notification("x"))
    assert err.value.permanent
    assert len(server.calls) == 2


async def test_failed_upload_lets_the_waiting_chat_upload(
    server: FakeTelegramServer, make_bot: Callable[..., TelegramBot]
) -> None:
    """When the chat that uploads fails, the chat that waited uploads itself."""
    server.missing_chats.add("1")
    bot = make_bot()
    album = photos(2)
    first, second = await asyncio.gather(
        dest(bot, 1, "d1").async_deliver(Notification("x", media=album)),
        dest(bot, 2, "d2").async_deliver(Notification("x", media=album)),
        return_exceptions=True,
    )
    assert isinstance(first, DeliveryError)
    assert isinstance(second, DeliveryResult) and second.media_delivered == 2


async def test_cancelled_upload_releases_waiters(
    server: FakeTelegramServer, make_bot: Callable[..., TelegramBot]
) -> None:
    """A delivery cancelled mid-upload (its timeout) does not strand the others."""
    bot = make_bot()
    album = photos(2)
    server.hang_next(5.0, method="sendMediaGroup")
    stuck = asyncio.create_task(
        dest(bot, 1, "d1").async_deliver(Notification("x", media=album))
    )
    await asyncio.sleep(0.2)
    waiting = asyncio.create_task(
        dest(bot, 2, "d2").async_deliver(Notification("x", media=album))
    )
    await asyncio.sleep(0.1)
    stuck.cancel()
    result = await asyncio.wait_for(waiting, 3.0)
    assert result.media_delivered == 2
