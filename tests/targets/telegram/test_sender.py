"""TelegramDestination and TelegramBot against the fake Bot API with the real PTB Bot."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

from aiohttp import ClientSession
import pytest

from custom_components.notify_bridge.net import UrlPolicy
from custom_components.notify_bridge.pipeline.models import (
    DeliveryError,
    MediaItem,
    MediaType,
    Notification,
    OutputFormat,
)
from custom_components.notify_bridge.targets.telegram import (
    OFFICIAL_LIMITS,
    FileIdCache,
    RetryPolicy,
    TelegramBot,
    TelegramDestination,
)
from custom_components.notify_bridge.targets.telegram.sender import (
    TelegramSendError,
    WebhookActiveError,
)
from tests.common import FAST, LOOPBACK
from tests.fakes.telegram_server import (
    BOT_BLOCKED,
    CHAT_NOT_FOUND,
    THREAD_NOT_FOUND,
    FakeTelegramServer,
    RecordedCall,
    make_jpeg,
)

pytestmark = pytest.mark.usefixtures("socket_enabled")

KB = 1024


class FakeTime:
    """A clock and sleep that advance instantly, recording every wait."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    """Run the fake; every test also asserts that no call broke the Bot API spec."""
    async with FakeTelegramServer() as fake:
        yield fake
        assert fake.spec_violations == []


@pytest.fixture
async def session() -> AsyncIterator[ClientSession]:
    """Yield the session used for media downloads."""
    async with ClientSession() as client:
        yield client


@pytest.fixture
async def make_bot(
    server: FakeTelegramServer, session: ClientSession
) -> AsyncIterator[Callable[..., TelegramBot]]:
    """Return a factory of bots talking to the fake; all are closed afterwards."""
    bots: list[TelegramBot] = []

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


@pytest.fixture
def bot(make_bot: Callable[..., TelegramBot]) -> TelegramBot:
    """Return a default bot."""
    return make_bot()


def dest(
    bot: TelegramBot, chat_id: int | str = 42, **options: Any
) -> TelegramDestination:
    """Return a destination of `bot`."""
    return TelegramDestination(
        bot, destination_id="dest-1", name="Family chat", chat_id=chat_id, **options
    )


def html(message: str, **kwargs: Any) -> Notification:
    """Return a notification rendered for HTML."""
    return Notification(message, output_format=OutputFormat.HTML, **kwargs)


def photo(seed: int = 0, **kwargs: Any) -> MediaItem:
    """Return a small photo item with bytes."""
    return MediaItem(MediaType.PHOTO, data=make_jpeg(60 + seed, 40), **kwargs)


def sends(server: FakeTelegramServer) -> list[RecordedCall]:
    """Return the successful send calls."""
    return server.messages


# ---- text --------------------------------------------------------------------------


async def test_text_html_with_destination_options(
    server: FakeTelegramServer, bot: TelegramBot
) -> None:
    """HTML by default; thread and silent flag from the destination."""
    target = dest(bot, message_thread_id=5, disable_notification=True)
    result = await target.async_deliver(html("Door <b>open</b>", title="Alarm"))
    assert result.success
    assert (result.messages_sent, result.attempts, result.errors) == (1, 1, ())
    assert result.destination_name == "Family chat"
    (call,) = sends(server)
    assert call.params == {
        "chat_id": 42,
        "text": "<b>Alarm</b>\nDoor <b>open</b>",
        "parse_mode": "HTML",
        "message_thread_id": 5,
        "disable_notification": True,
    }
    assert target.output_format is OutputFormat.HTML


async def test_general_topic_sent_without_thread(
    server: FakeTelegramServer, bot: TelegramBot
) -> None:
    """Topic 1 (General) is addressed by leaving message_thread_id out."""
    result = await dest(bot, message_thread_id=1).async_deliver(html("hi"))
    assert result.success
    assert "message_thread_id" not in sends(server)[0].params


async def test_notification_overrides_destination(
    server: FakeTelegramServer, bot: TelegramBot
) -> None:
    """Notification flags win over the destination's when set."""
    target = dest(bot, message_thread_id=5, disable_notification=True)
    await target.async_deliver(
        html("x", disable_notification=False, message_thread_id=9)
    )
    params = sends(server)[0].params
    assert params["disable_notification"] is False
    assert params["message_thread_id"] == 9


async def test_long_text_split_on_paragraphs(
    server: FakeTelegramServer, bot: TelegramBot
) -> None:
    """Over 4096 characters, text is cut at paragraph boundaries."""
    paragraphs = [f"Paragraph {i} " + "x" * 1500 for i in range(6)]
    result = await dest(bot).async_deliver(html("\n\n".join(paragraphs)))
    texts = [c.params["text"] for c in sends(server)]
    assert result.messages_sent == len(texts) == 3
    assert all(len(t) <= 4096 for t in texts)
    assert all(t.startswith("Paragraph") for t in texts)
    assert "".join(texts).replace("\n", "") == "".join(paragraphs)


async def test_unparsable_html_resent_as_plain(
    server: FakeTelegramServer, bot: TelegramBot
) -> None:
    """'can't parse entities' → one plain-text resend, recorded in the result."""
    result = await dest(bot).async_deliver(html("Temp <unknown> 5 &lt; 6"))
    # Delivered, but not as asked: never "ok".
    assert not result.success
    assert result.messages_sent == 1
    assert any("plain text" in e for e in result.errors)
    failed, sent = server.calls
    assert failed.status == 400
    assert "can't parse entities" in (failed.description or "")
    assert sent.params == {
        "chat_id": 42,
        "text": "Temp <unknown> 5 < 6",
        "disable_notification": False,
    }


@pytest.mark.parametrize(
    ("notification", "expected"),
    [
        (Notification("a < b"), None),
        (html("a", parse_mode="none"), None),
        (html("*a*", parse_mode="MarkdownV2"), "MarkdownV2"),
        (Notification("a", output_format=OutputFormat.MARKDOWN), "MarkdownV2"),
    ],
)
async def test_parse_modes(
    server: FakeTelegramServer,
    bot: TelegramBot,
    notification: Notification,
    expected: str | None,
) -> None:
    """Plain output goes without parse mode; an explicit mode is passed on."""
    await dest(bot).async_deliver(notification)
    assert sends(server)[0].params.get("parse_mode") == expected


@pytest.mark.parametrize(
    ("chat_id", "sent"),
    [("@news", "@news"), ("news", "@news"), ("-1001234", -1001234), (" 77 ", 77)],
)
async def test_chat_id_forms(
    server: FakeTelegramServer, bot: TelegramBot, chat_id: str, sent: int | str
) -> None:
    """Numbers become ints, names become @names."""
    await dest(bot, chat_id=chat_id).async_deliver(html("x"))
    assert sends(server)[0].params["chat_id"] == sent


async def test_empty_notification_is_permanent_failure(bot: TelegramBot) -> None:
    """Nothing to send is a permanent failure, not a silent success."""
    with pytest.raises(DeliveryError) as err:
        await dest(bot).async_deliver(html("  "))
    assert err.value.permanent


# ---- single media ---------------------------------------------------------------------


async def test_photo_bytes_with_caption(
    server: FakeTelegramServer, bot: TelegramBot
) -> None:
    """A photo goes with sendPhoto, caption and every destination option."""
    target = dest(bot, message_thread_id=3, disable_notification=True)
    result = await target.async_deliver(html("<i>Look</i>", media=(photo(),)))
    assert (result.messages_sent, result.media_delivered, result.success) == (
        1,
        1,
        True,
    )
    (call,) = sends(server)
    assert call.method == "sendPhoto"
    assert call.params["caption"] == "<i>Look</i>"
    assert call.params["parse_mode"] == "HTML"
    assert call.params["message_thread_id"] == 3
    assert call.params["disable_notification"] is True
    assert call.upload_bytes > 0
    assert len(bot.cache) == 1


async def test_photo_from_url_then_cached_resend(
    server: FakeTelegramServer, bot: TelegramBot
) -> None:
    """A URL photo is downloaded through the guard; a re-send uses the file_id."""
    url = server.add_media("cat.jpg", make_jpeg())
    notification = html("cat", media=(MediaItem(MediaType.PHOTO, url=url),))
    target = dest(bot, message_thread_id=4, disable_notification=True)
    await target.async_deliver(notification)
    uploaded = server.uploaded_bytes
    result = await target.async_deliver(notification)
    assert result.media_delivered == 1
    assert server.uploaded_bytes == uploaded  # nothing uploaded the second time
    first, second = sends(server)
    assert second.params["photo"] == first_file_id(server, first)
    assert second.params["message_thread_id"] == 4
    assert second.params["disable_notification"] is True


def first_file_id(server: FakeTelegramServer, call: RecordedCall) -> str:
    """Return the file_id the fake issued for an upload call."""
    assert call.files
    ids = [fid for fid, f in server.files.items() if f.kind == "photo"]
    return ids[0]


async def test_long_caption_continues_in_follow_up(
    server: FakeTelegramServer, bot: TelegramBot
) -> None:
    """A caption over 1024 characters continues in a text message."""
    text = "\n".join(f"line {i} " + "y" * 60 for i in range(30))
    result = await dest(bot).async_deliver(html(text, media=(photo(),)))
    media_call, follow_up = sends(server)
    assert len(media_call.params["caption"]) <= 1024
    assert follow_up.method == "sendMessage"
    joined = media_call.params["caption"] + "\n" + follow_up.params["text"]
    assert joined == text
    assert result.messages_sent == 2


@pytest.mark.parametrize(
    ("size", "limits", "reason"),
    [
        ((60, 40), {"photo_bytes": 100}, "over the photo limit"),
        ((400, 300), {"photo_dimensions_sum": 600}, "exceeds width + height"),
        ((20, 500), {}, "side ratio 25"),
    ],
)
async def test_photo_over_limits_sent_as_document(
    server: FakeTelegramServer,
    make_bot: Callable[..., TelegramBot],
    size: tuple[int, int],
    limits: dict[str, int],
    reason: str,
) -> None:
    """A photo Telegram would refuse goes as a document, with a note."""
    bot = make_bot(limits=replace(OFFICIAL_LIMITS, **limits))
    item = MediaItem(MediaType.PHOTO, data=make_jpeg(*size))
    result = await dest(bot).async_deliver(html("big", media=(item,)))
    assert [c.method for c in sends(server)] == ["sendDocument"]
    assert result.media_delivered == 1
    assert any(reason in e and "sent as document" in e for e in result.errors)


async def test_not_an_image_goes_as_document(
    server: FakeTelegramServer, bot: TelegramBot
) -> None:
    """Bytes that are no image cannot be a photo; they still arrive."""
    item = MediaItem(MediaType.PHOTO, data=b"%PDF-1.4 not an image", filename="r.pdf")
    result = await dest(bot).async_deliver(html("", media=(item,)))
    assert sends(server)[0].method == "sendDocument"
    assert result.media_delivered == 1


async def test_video_within_limit(server: FakeTelegramServer, bot: TelegramBot) -> None:
    """A video under the limit goes with sendVideo."""
    item = MediaItem(MediaType.VIDEO, data=b"\x00" * 2048, identity="v:1")
    result = await dest(bot).async_deliver(html("clip", media=(item,)))
    assert sends(server)[0].method == "sendVideo"
    assert result.media_delivered == 1
    assert bot.cache.get("id:v:1") is not None


async def test_large_video_as_document_when_enabled(
    server: FakeTelegramServer, make_bot: Callable[..., TelegramBot]
) -> None:
    """Over the video limit and the option on: sendDocument."""
    bot = make_bot(limits=replace(OFFICIAL_LIMITS, video_bytes=1000))
    item = MediaItem(MediaType.VIDEO, data=b"\x00" * 2000)
    result = await dest(bot, send_large_videos_as_documents=True).async_deliver(
        html("clip", media=(item,))
    )
    assert [c.method for c in sends(server)] == ["sendDocument"]
    assert result.media_delivered == 1
    assert result.media_skipped == 0
    assert any("sent as document" in e for e in result.errors)


async def test_large_video_skipped_with_thumbnail_and_link(
    server: FakeTelegramServer, make_bot: Callable[..., TelegramBot]
) -> None:
    """Option off: the thumbnail goes with a link; the video is reported skipped."""
    bot = make_bot(limits=replace(OFFICIAL_LIMITS, video_bytes=1000))
    url = server.add_media("clip.mp4", b"\x00" * 3000, "video/mp4")
    item = MediaItem(MediaType.VIDEO, url=url, thumbnail=make_jpeg())
    target = dest(bot, message_thread_id=8, disable_notification=True)
    result = await target.async_deliver(html("Motion", media=(item,)))
    assert result.media_skipped == 1
    assert result.media_delivered == 0
    assert result.success
    assert any("skipped" in e and "video limit" in e for e in result.errors)
    thumb, text = sends(server)
    assert thumb.method == "sendPhoto"
    assert url in thumb.params["caption"]
    assert thumb.params["message_thread_id"] == 8
    assert thumb.params["disable_notification"] is True
    assert text.params["text"] == "Motion"  # the message itself still arrives


async def test_large_video_without_thumbnail_gets_link_text(
    server: FakeTelegramServer, make_bot: Callable[..., TelegramBot]
) -> None:
    """Without a thumbnail the notice is a text message; too big even as document."""
    bot = make_bot(
        limits=replace(OFFICIAL_LIMITS, video_bytes=1000, document_bytes=1500)
    )
    url = server.add_media("clip.mp4", b"\x00" * 2000, "video/mp4")
    item = MediaItem(MediaType.VIDEO, url=url)
    result = await dest(bot, send_large_videos_as_documents=True).async_deliver(
        Notification("plain", media=(item,))
    )
    assert result.media_skipped == 1
    notice = sends(server)[0]
    assert notice.method == "sendMessage"
    assert "document limit" in notice.params["text"]
    assert url in notice.params["text"]
    assert "parse_mode" not in notice.params


async def test_download_over_bound_is_skipped(
    server: FakeTelegramServer, make_bot: Callable[..., TelegramBot]
) -> None:
    """A URL larger than anything Telegram takes is never fully downloaded."""
    small = replace(
        OFFICIAL_LIMITS, photo_bytes=500, video_bytes=500, document_bytes=500
    )
    bot = make_bot(limits=small)
    url = server.add_media("huge.jpg", b"\xff" * 5000)
    result = await dest(bot).async_deliver(
        html("x", media=(MediaItem(MediaType.PHOTO, url=url),))
    )
    assert result.media_skipped == 1
    assert any("too large" in e for e in result.errors)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:1/admin",
        "http://10.0.0.1/cam.jpg",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/x.jpg",
        "file:///etc/passwd",
    ],
)
async def test_hostile_media_urls_refused(
    server: FakeTelegramServer, make_bot: Callable[..., TelegramBot], url: str
) -> None:
    """Media URLs to internal addresses fail the item; the text still arrives."""
    bot = make_bot(url_policy=UrlPolicy())
    result = await dest(bot).async_deliver(
        html("alert", media=(MediaItem(MediaType.PHOTO, url=url),))
    )
    assert result.media_failed == 1
    assert not result.success
    assert any("download failed" in e for e in result.errors)
    assert [c.method for c in sends(server)] == ["sendMessage"]


async def test_redirect_to_private_address_refused(
    server: FakeTelegramServer, make_bot: Callable[..., TelegramBot]
) -> None:
    """A media URL may not bounce to an internal address."""
    from aiohttp import web

    async def bounce(_request: web.Request) -> web.Response:
        raise web.HTTPFound("http://169.254.169.254/latest/meta-data/")

    app = web.Application()
    app.router.add_get("/img", bounce)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        bot = make_bot()
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/img"
        result = await dest(bot).async_deliver(
            html("x", media=(MediaItem(MediaType.PHOTO, url=url),))
        )
    finally:
        await runner.cleanup()
    assert result.media_failed == 1
    assert any("metadata" in e for e in result.errors)


async def test_item_without_source_and_nothing_else_fails(bot: TelegramBot) -> None:
    """No URL, no bytes, no text: a permanent failure."""
    with pytest.raises(DeliveryError, match="no URL and no data") as err:
        await dest(bot).async_deliver(html("", media=(MediaItem(MediaType.PHOTO),)))
    assert err.value.permanent


# ---- media groups ----------------------------------------------------------------------


async def test_mixed_album_in_one_group(
    server: FakeTelegramServer, bot: TelegramBot
) -> None:
    """Photos and videos share an album; caption on the first item; options passed."""
    media = (
        photo(0),
        photo(1),
        MediaItem(MediaType.VIDEO, data=b"\x01" * 500),
        photo(2),
    )
    target = dest(bot, message_thread_id=6, disable_notification=True)
    result = await target.async_deliver(html("<b>Trip</b>", media=media))
    (call,) = sends(server)
    assert call.method == "sendMediaGroup"
    assert [m["type"] for m in call.params["media"]] == [
        "photo",
        "photo",
        "video",
        "photo",
    ]
    assert call.params["media"][0]["caption"] == "<b>Trip</b>"
    assert "caption" not in call.params["media"][1]
    assert call.params["message_thread_id"] == 6
    assert call.params["disable_notification"] is True
    assert (result.messages_sent, result.media_delivered) == (4, 4)
    assert len(bot.cache) == 4


async def test_documents_never_mixed_with_photos(
    server: FakeTelegramServer, bot: TelegramBot
) -> None:
    """Documents form their own group; a lone document is sent alone."""
    doc = MediaItem(MediaType.DOCUMENT, data=b"report", filename="r.txt")
    result = await dest(bot).async_deliver(html("mix", media=(photo(0), doc, photo(1))))
    album, single = sends(server)
    assert album.method == "sendMediaGroup"
    assert {m["type"] for m in album.params["media"]} == {"photo"}
    assert single.method == "sendDocument"
    assert "caption" not in single.params
    assert result.media_delivered == 3


async def test_albums_split_at_ten_items(
    server: FakeTelegramServer, bot: TelegramBot
) -> None:
    """12 photos become an album of 10 and one of 2."""
    media = tuple(photo(i) for i in range(12))
    result = await dest(bot).async_deliver(html("many", media=media))
    sizes = [len(c.params["media"]) for c in sends(server)]
    assert sizes == [10, 2]
    assert result.media_delivered == 12


async def test_albums_split_by_byte_budget(
    server: FakeTelegramServer, make_bot: Callable[..., TelegramBot]
) -> None:
    """No album uploads more than the byte budget."""
    items = tuple(photo(i) for i in range(5))
    budget = sum(len(i.data or b"") for i in items[:2]) + 10
    bot = make_bot(limits=replace(OFFICIAL_LIMITS, media_group_bytes=budget))
    result = await dest(bot).async_deliver(html("budget", media=items))
    calls = sends(server)
    assert all(c.upload_bytes <= budget for c in calls)
    assert [c.method for c in calls] == [
        "sendMediaGroup",
        "sendMediaGroup",
        "sendPhoto",
    ]
    assert result.media_delivered == 5


async def test_failed_album_retried_item_by_item(
    server: FakeTelegramServer, bot: TelegramBot
) -> None:
    """One bad album → each item alone; the good ones arrive."""
    server.fail_next("Bad Request: MEDIA_EMPTY", method="sendMediaGroup")
    server.fail_next("Bad Request: IMAGE_PROCESS_FAILED", method="sendPhoto")
    media = (photo(0), photo(1), photo(2))
    result = await dest(bot, message_thread_id=2).async_deliver(
        html("cap", media=media)
    )
    singles = sends(server)
    assert [c.method for c in singles] == ["sendPhoto", "sendPhoto"]
    assert singles[0].params["caption"] == "cap"  # the caption moved to the next one
    assert all(c.params["message_thread_id"] == 2 for c in singles)
    assert (result.media_delivered, result.media_failed) == (2, 1)
    assert not result.success
    assert any("one by one" in e for e in result.errors)


async def test_album_caption_parse_error_falls_back(
    server: FakeTelegramServer, bot: TelegramBot
) -> None:
    """A caption Telegram cannot parse ends up as plain text, items still sent."""
    result = await dest(bot).async_deliver(
        html("bad <tag>", media=(photo(0), photo(1)))
    )
    assert result.media_delivered == 2
    first = sends(server)[0]
    assert first.params["caption"] == "bad <tag>"
    assert "parse_mode" not in first.params


async def test_chat_error_stops_album_delivery(
    server: FakeTelegramServer, bot: TelegramBot
) -> None:
    """A chat that refuses is not hammered item by item."""
    server.missing_chats.add("42")
    with pytest.raises(DeliveryError, match="(?i)chat not found") as err:
        await dest(bot).async_deliver(html("x", media=(photo(0), photo(1))))
    assert err.value.permanent
    assert len(server.calls) == 1


# ---- file_id cache ---------------------------------------------------------------------


async def test_album_resend_uploads_nothing(
    server: FakeTelegramServer, bot: TelegramBot
) -> None:
    """Identity-keyed items are re-sent by file_id without download or upload."""
    media = tuple(photo(i, identity=f"asset-{i}") for i in range(4))
    target = dest(bot, message_thread_id=11, disable_notification=True)
    await target.async_deliver(html("a", media=media))
    first = server.uploaded_bytes
    result = await target.async_deliver(html("a", media=media))
    second = sends(server)[-1]
    assert server.uploaded_bytes == first
    assert second.upload_bytes == 0
    assert all(not m["media"].startswith("attach://") for m in second.params["media"])
    assert second.params["message_thread_id"] == 11
    assert second.params["disable_notification"] is True
    assert result.media_delivered == 4
    assert bot.cache.hits >= 4


async def test_stale_album_reuploads_and_refreshes_cache(
    server: FakeTelegramServer, bot: TelegramBot
) -> None:
    """Stale file_ids: the album is uploaded again (still one album)."""
    media = tuple(photo(i, identity=f"asset-{i}") for i in range(3))
    target = dest(bot)
    await target.async_deliver(html("a", media=media))
    old = bot.cache.get("id:asset-0")
    server.invalidate_file_ids()
    result = await target.async_deliver(html("a", media=media))
    assert result.success
    assert result.media_delivered == 3
    assert [c.status for c in server.calls] == [200, 400, 200]
    assert server.calls[1].description is not None
    assert "temporarily unavailable" in server.calls[1].description
    new = bot.cache.get("id:asset-0")
    assert old is not None and new is not None and new.file_id != old.file_id
    assert any("stale" in e for e in result.errors)


async def test_stale_single_refetches_url(
    server: FakeTelegramServer, bot: TelegramBot
) -> None:
    """A cached id known only by identity is re-downloaded and uploaded again."""
    url = server.add_media("a.jpg", make_jpeg())
    item = MediaItem(MediaType.PHOTO, url=url, identity="immich:a:preview")
    target = dest(bot, message_thread_id=12)
    await target.async_deliver(html("a", media=(item,)))
    server.invalidate_file_ids()
    result = await target.async_deliver(html("a", media=(item,)))
    assert result.media_delivered == 1
    methods = [(c.method, c.status, bool(c.files)) for c in server.calls]
    assert methods == [
        ("sendPhoto", 200, True),
        ("sendPhoto", 400, False),
        ("sendPhoto", 200, True),
    ]
    assert all(c.params["message_thread_id"] == 12 for c in server.calls)


async def test_unknown_file_id_falls_back_to_upload(
    server: FakeTelegramServer, bot: TelegramBot
) -> None:
    """'wrong file identifier' is treated like a stale id."""
    item = photo(identity="x")
    bot.cache.put("id:x", "AgACbogus", "photo", 10)
    result = await dest(bot).async_deliver(html("a", media=(item, photo(1))))
    assert result.media_delivered == 2
    assert "wrong file identifier" in (server.calls[0].description or "")
    assert bot.cache.get("id:x").file_id != "AgACbogus"


async def test_stale_item_that_became_too_large_is_skipped(
    server: FakeTelegramServer, make_bot: Callable[..., TelegramBot]
) -> None:
    """Re-preparing a stale item applies the limits again."""
    bot = make_bot(limits=replace(OFFICIAL_LIMITS, video_bytes=100))
    url = server.add_media("v.mp4", b"\x00" * 500, "video/mp4")
    item = MediaItem(MediaType.VIDEO, url=url, identity="v")
    bot.cache.put("id:v", "BAACgone", "video", 10)
    result = await dest(bot).async_deliver(html("v", media=(item,)))
    assert result.media_skipped == 1
    assert [c.method for c in sends(server)] == ["sendMessage", "sendMessage"]


async def test_cache_is_persisted_through_hook(
    server: FakeTelegramServer, make_bot: Callable[..., TelegramBot]
) -> None:
    """The owner learns about every change and can restore the cache."""
    changes: list[int] = []
    cache = FileIdCache(on_change=lambda: changes.append(1))
    bot = make_bot(file_cache=cache)
    await dest(bot).async_deliver(html("a", media=(photo(identity="p"),)))
    assert changes
    restored = FileIdCache.from_dict(cache.as_dict())
    other = make_bot(file_cache=restored)
    await dest(other).async_deliver(html("a", media=(photo(identity="p"),)))
    assert sends(server)[-1].upload_bytes == 0


# ---- failures --------------------------------------------------------------------------


async def test_429_honoured_and_chat_paced(
    server: FakeTelegramServer, make_bot: Callable[..., TelegramBot]
) -> None:
    """retry_after is waited for on that chat, then the send goes through."""
    fake = FakeTime()
    bot = make_bot(clock=fake.clock, sleep=fake.sleep)
    server.fail_next("Too Many Requests: retry after 7", status=429, retry_after=7)
    result = await dest(bot).async_deliver(html("x"))
    assert result.success
    assert result.attempts == 2
    assert sum(fake.sleeps) >= 7


async def test_429_everywhere_including_commands(
    server: FakeTelegramServer, make_bot: Callable[..., TelegramBot]
) -> None:
    """setMyCommands honours retry_after too."""
    fake = FakeTime()
    bot = make_bot(clock=fake.clock, sleep=fake.sleep)
    server.fail_next("Too Many Requests: retry after 3", status=429, retry_after=3)
    await bot.async_set_commands([("status", "Show status")])
    assert server.commands == [{"command": "status", "description": "Show status"}]
    assert fake.sleeps == [3.0]


async def test_429_too_often_is_transient_failure(
    server: FakeTelegramServer, make_bot: Callable[..., TelegramBot]
) -> None:
    """Rate limits beyond what we wait for fail the delivery as retryable."""
    fake = FakeTime()
    bot = make_bot(
        clock=fake.clock, sleep=fake.sleep, retry=RetryPolicy(rate_limit_retries=2)
    )
    server.fail_next(
        "Too Many Requests: retry after 1", status=429, retry_after=1, times=5
    )
    with pytest.raises(DeliveryError, match="rate limited") as err:
        await dest(bot).async_deliver(html("x"))
    assert not err.value.permanent
    server.scripted.clear()
    server.fail_next("Too Many Requests: retry after 999", status=429, retry_after=999)
    with pytest.raises(DeliveryError, match="999") as err:
        await dest(bot).async_deliver(html("x"))
    # Too long to wait in line: the outbox is told when to come back, and the chat
    # stays held so nothing provokes another 429 meanwhile.
    assert err.value.retry_after == 999
    assert bot.pacer._blocked["42"] - fake.clock() > 900


@pytest.mark.parametrize(
    ("status", "description"),
    [
        (500, "Internal Server Error"),
        (502, "Bad Gateway"),
        (503, "Service Unavailable"),
    ],
)
async def test_5xx_retried_with_backoff(
    server: FakeTelegramServer,
    make_bot: Callable[..., TelegramBot],
    status: int,
    description: str,
) -> None:
    """Server errors are retried a bounded number of times, with growing delays."""
    fake = FakeTime()
    bot = make_bot(
        clock=fake.clock,
        sleep=fake.sleep,
        retry=RetryPolicy(base_delay=0.5),
        jitter=lambda: 0.5,
    )
    server.fail_next(description, status=status, times=2)
    result = await dest(bot).async_deliver(html("x"))
    assert result.success
    assert result.attempts == 3
    assert fake.sleeps == [0.5, 1.0]


async def test_5xx_exhausted_is_transient(
    server: FakeTelegramServer, bot: TelegramBot
) -> None:
    """When retries run out the failure says a later retry may help."""
    server.fail_next("Internal Server Error", status=500, times=3)
    with pytest.raises(DeliveryError) as err:
        await dest(bot).async_deliver(html("x"))
    assert not err.value.permanent
    assert len(server.calls) == 3


async def test_timeout_of_idempotent_call_retried(
    server: FakeTelegramServer, make_bot: Callable[..., TelegramBot]
) -> None:
    """A read that times out (getMe) is retried; sends never are (see promises)."""
    bot = make_bot(request_timeout=0.2)
    server.hang_next(1.0, method="getMe")
    me = await bot.async_get_me()
    assert me.id == server.bot_id
    assert len(server.calls_to("getMe")) == 2


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda s: s.missing_chats.add("42"), "chat not found"),
        (lambda s: s.blocked_chats.add("42"), "blocked by the user"),
        (lambda s: s.fail_next(THREAD_NOT_FOUND), "thread not found"),
        (lambda s: s.fail_next(CHAT_NOT_FOUND), "chat not found"),
        (lambda s: s.fail_next(BOT_BLOCKED, status=403), "blocked"),
        (lambda s: s.fail_next("Unauthorized", status=401), "nauthorized"),
    ],
)
async def test_permanent_errors_not_retried(
    server: FakeTelegramServer,
    bot: TelegramBot,
    setup: Callable[[FakeTelegramServer], None],
    message: str,
) -> None:
    """400/403 chat errors fail at once, permanently."""
    setup(server)
    with pytest.raises(DeliveryError, match=f"(?i){message}") as err:
        await dest(bot).async_deliver(html("x"))
    assert err.value.permanent
    assert len(server.calls) == 1


async def test_413_fails_the_item_not_the_message(
    server: FakeTelegramServer, bot: TelegramBot
) -> None:
    """413 is permanent for the item; the text still goes."""
    server.fail_next("Request Entity Too Large", status=413, method="sendPhoto")
    result = await dest(bot).async_deliver(html("hello", media=(photo(),)))
    assert result.media_failed == 1
    assert not result.success
    assert [c.method for c in sends(server)] == ["sendMessage"]
    assert len(server.calls_to("sendPhoto")) == 0
    assert len([c for c in server.calls if c.method == "sendPhoto"]) == 1


async def test_chat_error_on_skip_notice(
    server: FakeTelegramServer, make_bot: Callable[..., TelegramBot]
) -> None:
    """A notice that cannot be delivered is recorded too."""
    bot = make_bot(limits=replace(OFFICIAL_LIMITS, video_bytes=10))
    server.blocked_chats.add("42")
    item = MediaItem(MediaType.VIDEO, data=b"\x00" * 100)
    with pytest.raises(DeliveryError, match="skipped") as err:
        await dest(bot).async_deliver(html("v", media=(item,)))
    assert "notice for skipped media 1" in str(err.value)


async def test_text_failure_after_media_is_partial(
    server: FakeTelegramServer, bot: TelegramBot
) -> None:
    """Media delivered but its follow-up text refused: not a success."""
    server.fail_next("Bad Request: message is too long", method="sendMessage")
    text = "z" * 1500
    result = await dest(bot).async_deliver(html(text, media=(photo(),)))
    assert result.media_delivered == 1
    assert not result.success
    assert any(e.startswith("text:") for e in result.errors)


# ---- bot-level calls -------------------------------------------------------------------


async def test_start_get_me_and_recent_chats(
    server: FakeTelegramServer, bot: TelegramBot
) -> None:
    """getMe validates the token; recent chats come from pending updates."""
    await bot.async_start()
    me = await bot.async_get_me()
    assert me.username == server.username
    server.updates = [
        {"update_id": 1, "message": {"message_id": 1, "date": 0,
         "chat": {"id": 5, "type": "private", "first_name": "Ann"}, "text": "hi"}},
        {"update_id": 2, "message": {"message_id": 2, "date": 0, "message_thread_id": 4,
         "chat": {"id": -100, "type": "supergroup", "title": "Home"}, "text": "x"}},
        {"update_id": 3, "message": {"message_id": 3, "date": 0,
         "chat": {"id": 5, "type": "private", "first_name": "Ann"}, "text": "again"}},
    ]  # fmt: skip
    chats = await bot.async_recent_chats()
    assert [(c.chat_id, c.title, c.type) for c in chats] == [
        (5, "Ann", "private"),
        (-100, "Home", "supergroup"),
    ]
    assert chats[1].message_thread_id == 4


async def test_recent_chats_with_webhook(
    server: FakeTelegramServer, bot: TelegramBot
) -> None:
    """A bot with a webhook cannot poll; that is said, not a crash."""
    server.webhook_url = "https://example.invalid/hook"
    with pytest.raises(WebhookActiveError):
        await bot.async_recent_chats()
    server.webhook_url = ""
    server.fail_next("Internal Server Error", status=500, times=3)
    with pytest.raises(TelegramSendError):
        await bot.async_recent_chats()


async def test_concurrent_destinations_share_bot(
    server: FakeTelegramServer, bot: TelegramBot
) -> None:
    """Several chats of one bot deliver concurrently."""
    targets = [dest(bot, chat_id=c) for c in (1, 2, -3)]
    results = await asyncio.gather(
        *(t.async_deliver(html(f"m{i}")) for i in range(3) for t in targets)
    )
    assert all(r.success for r in results)
    assert len(sends(server)) == 9


async def test_document_album(server: FakeTelegramServer, bot: TelegramBot) -> None:
    """Documents go together in their own album."""
    docs = tuple(
        MediaItem(MediaType.DOCUMENT, data=f"doc {i}".encode(), filename=f"{i}.txt")
        for i in range(2)
    )
    result = await dest(bot).async_deliver(html("files", media=docs))
    (call,) = sends(server)
    assert [m["type"] for m in call.params["media"]] == ["document", "document"]
    assert result.media_delivered == 2


async def test_stale_hash_keyed_item_reuploads_its_bytes(
    server: FakeTelegramServer, bot: TelegramBot
) -> None:
    """Bytes without identity are keyed by hash; a stale id re-uploads those bytes."""
    item = photo()
    await dest(bot).async_deliver(html("a", media=(item,)))
    server.invalidate_file_ids()
    result = await dest(bot).async_deliver(html("a", media=(item,)))
    assert result.media_delivered == 1
    assert [c.status for c in server.calls] == [200, 400, 200]


async def test_stale_album_shrinking_to_one_item(
    server: FakeTelegramServer, make_bot: Callable[..., TelegramBot]
) -> None:
    """If re-preparing a stale album leaves one item, it is sent alone."""
    bot = make_bot(limits=replace(OFFICIAL_LIMITS, video_bytes=100))
    video_url = server.add_media("v.mp4", b"\x00" * 500, "video/mp4")
    photo_url = server.add_media("p.jpg", make_jpeg())
    media = (
        MediaItem(MediaType.VIDEO, url=video_url, identity="v"),
        MediaItem(MediaType.PHOTO, url=photo_url, identity="p"),
    )
    bot.cache.put("id:v", "BAACgone", "video", 10)
    bot.cache.put("id:p", "AgACgone", "photo", 10)
    result = await dest(bot).async_deliver(html("two", media=media))
    assert (result.media_delivered, result.media_skipped) == (1, 1)
    assert [c.method for c in sends(server)] == ["sendMessage", "sendPhoto"]


async def test_skip_notice_transient_failure_recorded(
    server: FakeTelegramServer, make_bot: Callable[..., TelegramBot]
) -> None:
    """A notice lost to server errors is reported; the message still goes."""
    bot = make_bot(limits=replace(OFFICIAL_LIMITS, video_bytes=10))
    server.fail_next("Internal Server Error", status=500, method="sendMessage", times=3)
    item = MediaItem(MediaType.VIDEO, data=b"\x00" * 100)
    result = await dest(bot).async_deliver(html("v", media=(item,)))
    assert result.media_skipped == 1
    assert result.messages_sent == 1
    assert any("notice for skipped media 1" in e for e in result.errors)


async def test_summary_of_mixed_album_with_oversized_video_and_stale_id(
    server: FakeTelegramServer, make_bot: Callable[..., TelegramBot]
) -> None:
    """The summary says exactly what happened to every item."""
    bot = make_bot(limits=replace(OFFICIAL_LIMITS, video_bytes=1500))
    bot.cache.put("id:p0", "AgACgone", "photo", 10)
    media = (
        photo(0, identity="p0"),
        photo(1, identity="p1"),
        MediaItem(
            MediaType.VIDEO,
            data=b"\x00" * 2048,
            thumbnail=make_jpeg(),
            url="https://cdn.example/clip.mp4",
        ),
        MediaItem(MediaType.VIDEO, data=b"\x00" * 512),
    )
    target = dest(bot, message_thread_id=9, disable_notification=True)
    result = await target.async_deliver(html("<b>Holiday</b>", media=media))
    expected = {
        "destination_id": "dest-1",
        "destination": "Family chat",
        "success": True,
        "messages_sent": 4,
        "media_delivered": 3,
        "media_skipped": 1,
        "media_failed": 0,
        "attempts": 3,
        "errors": [
            "media 1: cached file_id stale, uploading again",
            "media 3 (video) skipped: video of 2.0 KB over the 1.5 KB video limit",
        ],
    }
    summary = result.as_dict()
    # Compared key by key: the pipeline may add fields of its own to the summary.
    assert {key: summary[key] for key in expected} == expected
    album, notice = sends(server)
    assert album.params["media"][0]["caption"] == "<b>Holiday</b>"
    assert notice.params["caption"].startswith("Video not sent")
    assert all(c.params["message_thread_id"] == 9 for c in server.calls)
    assert all(c.params["disable_notification"] is True for c in server.calls)


async def test_plain_caption_fallback_keeps_html_for_follow_up(
    server: FakeTelegramServer, bot: TelegramBot
) -> None:
    """Only the refused caption goes plain; the continuation keeps HTML."""
    text = "bad <tag> " + "w" * 1100
    result = await dest(bot).async_deliver(html(text, media=(photo(),)))
    assert not result.success  # the caption lost its formatting
    media_call, follow_up = sends(server)
    assert "parse_mode" not in media_call.params
    assert follow_up.params["parse_mode"] == "HTML"


async def test_media_peer_failure_is_transient(
    server: FakeTelegramServer, bot: TelegramBot
) -> None:
    """A media server that fails may work later; a refused URL never will."""
    url = server.add_media("gone.jpg", b"") + "-missing"
    with pytest.raises(DeliveryError, match="HTTP 404") as err:
        await dest(bot).async_deliver(
            html("", media=(MediaItem(MediaType.PHOTO, url=url),))
        )
    assert not err.value.permanent
    refused = MediaItem(MediaType.PHOTO, url="http://10.0.0.1/a.jpg")
    with pytest.raises(DeliveryError) as err:
        await dest(bot).async_deliver(html("", media=(refused,)))
    assert err.value.permanent


# ---- review fixes ------------------------------------------------------------------


async def test_title_escaped_for_html(
    server: FakeTelegramServer, bot: TelegramBot
) -> None:
    """A title is plain text: escaped inside <b>, so HTML still parses."""
    result = await dest(bot).async_deliver(
        html("Body <i>kept</i>", title='Fix <b> & "quotes"')
    )
    assert result.success
    assert result.errors == ()
    (call,) = server.calls  # no refused attempt, no plain-text fallback
    assert call.status == 200
    assert call.params["parse_mode"] == "HTML"
    assert (
        call.params["text"] == '<b>Fix &lt;b&gt; &amp; "quotes"</b>\nBody <i>kept</i>'
    )


async def test_crafted_title_cannot_inject_a_link(
    server: FakeTelegramServer, bot: TelegramBot
) -> None:
    """Markup in a title arrives as text, never as an entity."""
    await dest(bot).async_deliver(html("x", title='<a href="http://evil">Tap</a>'))
    text = sends(server)[0].params["text"]
    assert "<a " not in text
    assert text.startswith('<b>&lt;a href="http://evil"&gt;Tap&lt;/a&gt;</b>')


async def test_plain_title_not_escaped(
    server: FakeTelegramServer, bot: TelegramBot
) -> None:
    """Without a parse mode the title goes as it is."""
    await dest(bot).async_deliver(Notification("body", title="a < b & c"))
    assert sends(server)[0].params["text"] == "a < b & c\nbody"


def restarted(bot: TelegramBot, make_bot: Callable[..., TelegramBot]) -> TelegramBot:
    """Return a new bot whose file_id cache was restored from `bot`'s (a restart)."""
    return make_bot(file_cache=FileIdCache.from_dict(bot.cache.as_dict()))


async def test_identity_only_item_resent_from_cache(
    server: FakeTelegramServer,
    bot: TelegramBot,
    make_bot: Callable[..., TelegramBot],
) -> None:
    """After a restart only the identity is left: the cached file_id is sent."""
    await dest(bot).async_deliver(html("ring", media=(photo(identity="cam:1"),)))
    uploaded = server.uploaded_bytes
    file_id = bot.cache.get("id:cam:1").file_id
    after = restarted(bot, make_bot)
    queued = MediaItem(MediaType.PHOTO, identity="cam:1")
    result = await dest(after).async_deliver(html("ring", media=(queued,)))
    assert result.success
    assert (result.media_delivered, result.media_skipped) == (1, 0)
    assert server.uploaded_bytes == uploaded  # nothing uploaded again
    last = sends(server)[-1]
    assert last.method == "sendPhoto"
    assert last.params["photo"] == file_id
    assert last.params["caption"] == "ring"


async def test_identity_only_item_without_cache_is_skipped(
    server: FakeTelegramServer, bot: TelegramBot
) -> None:
    """No cached file_id: skipped with a clear reason; the text still goes out."""
    queued = MediaItem(MediaType.PHOTO, identity="cam:gone")
    result = await dest(bot, message_thread_id=7).async_deliver(
        html("Doorbell", media=(queued,))
    )
    assert result.success
    assert (result.media_delivered, result.media_skipped, result.media_failed) == (
        0,
        1,
        0,
    )
    assert any("no longer available after a restart" in e for e in result.errors)
    notice, text = sends(server)
    assert "no longer available after a restart" in notice.params["text"]
    assert text.params["text"] == "Doorbell"
    assert all(c.params["message_thread_id"] == 7 for c in sends(server))


async def test_identity_only_album_mixes_cached_and_gone(
    server: FakeTelegramServer,
    bot: TelegramBot,
    make_bot: Callable[..., TelegramBot],
) -> None:
    """Cached items are delivered by file_id; the others are skipped, not failed."""
    await dest(bot).async_deliver(
        html("a", media=(photo(0, identity="p0"), photo(1, identity="p1")))
    )
    after = restarted(bot, make_bot)
    queued = tuple(
        MediaItem(MediaType.PHOTO, identity=name) for name in ("p0", "p1", "p2")
    )
    result = await dest(after).async_deliver(html("album", media=queued))
    assert result.success
    assert (result.media_delivered, result.media_skipped, result.media_failed) == (
        2,
        1,
        0,
    )
    album = next(c for c in sends(server)[1:] if c.method == "sendMediaGroup")
    assert album.upload_bytes == 0


async def test_identity_only_item_with_stale_file_id_is_skipped(
    server: FakeTelegramServer, bot: TelegramBot
) -> None:
    """A stale cached id cannot be re-uploaded without bytes: skipped, not a crash."""
    bot.cache.put("id:cam:old", "AgACbogus", "photo", 10)
    queued = MediaItem(MediaType.PHOTO, identity="cam:old")
    result = await dest(bot).async_deliver(html("ring", media=(queued,)))
    assert result.media_skipped == 1
    assert result.media_failed == 0
    assert bot.cache.get("id:cam:old") is None
    assert any("no longer available after a restart" in e for e in result.errors)
    assert [c.method for c in sends(server)] == ["sendMessage", "sendMessage"]


async def test_identity_only_items_alone_still_deliver_a_notice(
    server: FakeTelegramServer, bot: TelegramBot
) -> None:
    """Media only, nothing cached: the notice is the delivery, not a failure."""
    queued = MediaItem(MediaType.VIDEO, identity="clip")
    result = await dest(bot).async_deliver(html("", media=(queued,)))
    assert result.messages_sent == 1
    assert result.media_skipped == 1
