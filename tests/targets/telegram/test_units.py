"""Pure parts of the Telegram target: limits, text cutting, grouping, cache, pacing."""

from __future__ import annotations

import asyncio
from dataclasses import replace
import warnings

import httpx
import pytest
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)

from custom_components.notify_bridge.pipeline.models import MediaItem, MediaType
from custom_components.notify_bridge.targets.telegram import (
    OFFICIAL_LIMITS,
    SELF_HOSTED_LIMITS,
    FileIdCache,
    RateLimits,
    RetryPolicy,
    limits_for,
)
from custom_components.notify_bridge.targets.telegram.limits import MB, is_group_chat
from custom_components.notify_bridge.targets.telegram.media import (
    PreparedMedia,
    content_key,
    filename_for,
    format_size,
    plan_groups,
)
from custom_components.notify_bridge.targets.telegram.request import (
    FloodWaitError,
    retry_after_seconds,
)
from custom_components.notify_bridge.targets.telegram.sender import (
    ChatPacer,
    ErrorKind,
    classify_error,
)
from custom_components.notify_bridge.targets.telegram.text import (
    html_to_plain,
    normalize_parse_mode,
    split_caption,
    split_text,
)
from tests.fakes.telegram_server import html_problem


class FakeTime:
    """A clock and sleep that advance instantly."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


# ---- limits --------------------------------------------------------------------------


def test_official_limits_table() -> None:
    """The one table holds the Bot API's published limits."""
    limits = OFFICIAL_LIMITS
    assert limits.photo_bytes == 10 * MB
    assert (limits.photo_dimensions_sum, limits.photo_side_ratio) == (10_000, 20)
    assert limits.video_bytes == limits.document_bytes == 50 * MB
    assert (limits.caption_chars, limits.text_chars) == (1024, 4096)
    assert (limits.media_group_min, limits.media_group_max) == (2, 10)
    assert limits.media_group_bytes == 45 * MB
    assert limits.max_download_bytes == 50 * MB


def test_self_hosted_limits_and_overrides() -> None:
    """A self-hosted server lifts upload limits; options override them."""
    assert limits_for(None) == OFFICIAL_LIMITS
    assert limits_for("http://bot-api.lan:8081") == SELF_HOSTED_LIMITS
    assert SELF_HOSTED_LIMITS.video_bytes == 2000 * MB
    custom = limits_for(
        "http://x", {"video_bytes": 500 * MB, "bogus": 1, "photo_bytes": 0}
    )
    assert custom.video_bytes == 500 * MB
    assert custom.photo_bytes == 10 * MB  # 0 = not set


def test_rate_limits_scaled_and_group_detection() -> None:
    """Scaling keeps counts and multiplies durations."""
    scaled = RateLimits().scaled(0.1)
    assert scaled.per_chat_interval == pytest.approx(0.1)
    assert scaled.group_window == pytest.approx(6.0)
    assert scaled.group_max == 20
    assert is_group_chat(-100) and is_group_chat("@news") and is_group_chat("-5")
    assert not is_group_chat(5) and not is_group_chat("5")


# ---- errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (BadRequest("Chat not found"), ErrorKind.CHAT),
        (BadRequest("Message thread not found"), ErrorKind.CHAT),
        (Forbidden("Bot was blocked by the user"), ErrorKind.CHAT),
        (InvalidToken("Unauthorized"), ErrorKind.CHAT),
        (ChatMigrated(-100123), ErrorKind.MIGRATED),
        (BadRequest("Wrong file identifier/http url specified"), ErrorKind.STALE_FILE),
        (
            BadRequest("Wrong file_id or the file is temporarily unavailable"),
            ErrorKind.STALE_FILE,
        ),
        (BadRequest("Can't parse entities: unsupported start tag"), ErrorKind.PARSE),
        (BadRequest("Message is too long"), ErrorKind.CONTENT),
        (NetworkError("Request Entity Too Large (413)"), ErrorKind.CONTENT),
        (Conflict("terminated by other getUpdates request"), ErrorKind.CONTENT),
        (NetworkError("Bad Gateway"), ErrorKind.TRANSIENT),
        (NetworkError("Internal Server Error (500)"), ErrorKind.TRANSIENT),
        (TimedOut(), ErrorKind.UNCONFIRMED),
    ],
)
def test_classify_error(error: Exception, kind: ErrorKind) -> None:
    """400/403 are permanent and sorted by what to do; 5xx/network are transient."""
    assert classify_error(error) is kind


def test_retry_after_normalized() -> None:
    """Our flood error carries seconds; PTB's own RetryAfter is read without warning."""
    assert retry_after_seconds(FloodWaitError(2.5)) == 2.5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # building PTB's own RetryAfter warns
        ptb_error = RetryAfter(5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert retry_after_seconds(ptb_error) == 5.0


def test_retry_backoff_is_bounded() -> None:
    """Backoff doubles up to its ceiling."""
    policy = RetryPolicy(base_delay=1, max_delay=5)
    assert [policy.delay(n, None, 0.5) for n in range(1, 6)] == [1, 2, 4, 5, 5]


# ---- text ----------------------------------------------------------------------------


def test_split_text_prefers_paragraphs_then_lines() -> None:
    """Cuts fall on the best boundary available."""
    text = "a" * 50 + "\n\n" + "b" * 30 + "\n" + "c" * 30
    assert split_text(text, 100) == ["a" * 50, "b" * 30 + "\n" + "c" * 30]
    lines = "\n".join(["x" * 40] * 3)
    assert split_text(lines, 90) == ["x" * 40 + "\n" + "x" * 40, "x" * 40]
    assert split_text("", 10) == [""]
    assert split_text("short", 10) == ["short"]


def test_split_text_never_cuts_markup() -> None:
    """A hard cut moves before a tag or entity it would split."""
    text = "y" * 95 + '<a href="https://example.com">link</a>'
    chunks = split_text(text, 100)
    assert chunks[0] == "y" * 95
    assert chunks[1].startswith("<a href=")
    entity = "z" * 98 + "&amp;" + "z" * 10
    assert split_text(entity, 100)[0] == "z" * 98
    assert split_text("w" * 250, 100) == ["w" * 100, "w" * 100, "w" * 50]


def test_split_caption_and_plain() -> None:
    """Caption overflow continues; refused HTML becomes readable text."""
    assert split_caption("short", 10) == ("short", "")
    caption, rest = split_caption("one two three four", 9)
    assert (caption, rest) == ("one two", "three four")
    assert html_to_plain("<b>a &amp; b</b> &lt;c&gt;") == "a & b <c>"


def test_keys_and_filenames() -> None:
    """Cache keys follow identity, else URL + content hash, else the hash."""
    photo = MediaType.PHOTO
    assert content_key(MediaItem(photo, identity="immich:1:preview"), None) == (
        "id:immich:1:preview"
    )
    assert content_key(MediaItem(photo, url="http://h/a.jpg"), None) is None
    by_url = content_key(MediaItem(photo, url="http://h/a.jpg"), b"x")
    assert by_url is not None and by_url.startswith("url:http://h/a.jpg#sha256:")
    assert content_key(MediaItem(photo), b"x").startswith("sha256:")
    assert filename_for(MediaItem(photo, filename="f.png"), photo) == "f.png"
    assert filename_for(MediaItem(photo, url="http://h/p/x.jpg?s=1"), photo) == "x.jpg"
    assert filename_for(MediaItem(photo, url="http://h/"), photo) == "photo.jpg"
    assert filename_for(MediaItem(MediaType.VIDEO), MediaType.VIDEO) == "video.mp4"


# ---- grouping ------------------------------------------------------------------------


def prepared(
    index: int, kind: MediaType, size: int, *, cached: bool = False
) -> PreparedMedia:
    """Return a prepared item of a given upload size."""
    return PreparedMedia(
        index=index,
        item=MediaItem(kind),
        kind=kind,
        cache_key=None,
        filename="f",
        file_id="cached" if cached else None,
        data=b"\x00" * size,
    )


def test_plan_groups_rules() -> None:
    """Max 10, byte budget, documents apart; cached items cost no bytes."""
    limits = replace(OFFICIAL_LIMITS, media_group_bytes=100)
    items = [prepared(i, MediaType.PHOTO, 40) for i in range(5)]
    items.append(prepared(5, MediaType.DOCUMENT, 10))
    items.append(prepared(6, MediaType.VIDEO, 90, cached=True))
    groups = plan_groups(items, limits)
    assert [[p.index for p in g] for g in groups] == [[0, 1], [2, 3], [4, 6], [5]]
    many = [prepared(i, MediaType.PHOTO, 1) for i in range(23)]
    assert [len(g) for g in plan_groups(many, OFFICIAL_LIMITS)] == [10, 10, 3]
    assert plan_groups([], OFFICIAL_LIMITS) == []
    assert prepared(0, MediaType.PHOTO, 5, cached=True).upload_bytes == 0


# ---- file_id cache ---------------------------------------------------------------------


def test_cache_ttl_lru_and_hook() -> None:
    """Entries expire, the least recently used go first, every change is reported."""
    time = FakeTime()
    changes: list[str] = []
    cache = FileIdCache(
        ttl=100, max_entries=2, clock=time.clock, on_change=lambda: changes.append("x")
    )
    cache.put("a", "A", "photo", 1)
    cache.put("b", "B", "photo", 1)
    assert cache.get("a").file_id == "A"  # a is now most recent
    cache.put("c", "C", "video", 1)
    assert cache.get("b") is None  # evicted
    assert len(cache) == 2
    time.now = 150
    assert cache.get("c") is None  # expired
    cache.invalidate("a")
    cache.invalidate("missing")
    assert len(cache) == 0
    assert len(changes) == 5
    assert (cache.hits, cache.misses) == (1, 2)


def test_cache_round_trip_and_bad_data() -> None:
    """as_dict/from_dict round-trips; malformed or foreign data is ignored."""
    time = FakeTime()
    cache = FileIdCache(ttl=100, clock=time.clock)
    cache.put("old", "O", "photo", 1)
    time.now = 60
    cache.put("new", "N", "document", 3)
    time.now = 120
    data = cache.as_dict()
    assert set(data["entries"]) == {"new"}
    restored = FileIdCache.from_dict(data, ttl=100, clock=time.clock)
    assert restored.get("new").kind == "document"
    broken = {
        "version": 1,
        "entries": {"x": {"file_id": "X"}, "y": None, **data["entries"]},
    }
    assert len(FileIdCache.from_dict(broken)) == 1
    assert len(FileIdCache.from_dict({"version": 99, "entries": data["entries"]})) == 0
    assert len(FileIdCache.from_dict(None)) == 0


# ---- pacing ----------------------------------------------------------------------------


async def test_pacer_per_chat_interval_and_block() -> None:
    """A chat waits its interval after each answer, and longer when blocked."""
    time = FakeTime()
    pacer = ChatPacer(RateLimits(), clock=time.clock, sleep=time.sleep)
    async with pacer.slot(5):
        time.now += 0.2  # the request takes 0.2 s
    async with pacer.slot(5):
        pass
    assert time.now == pytest.approx(1.2)  # counted from the answer
    pacer.block(5, 10)
    async with pacer.slot(5):
        pass
    assert time.now == pytest.approx(11.2)
    async with pacer.slot(None):
        pass
    assert len(time.sleeps) == 2


async def test_pacer_group_window() -> None:
    """A group gets at most 20 messages a minute."""
    time = FakeTime()
    pacer = ChatPacer(
        RateLimits(per_chat_interval=0), clock=time.clock, sleep=time.sleep
    )
    for _ in range(21):
        async with pacer.slot(-100):
            pass
    assert time.now == pytest.approx(60.0)


async def test_pacer_global_window_and_in_flight() -> None:
    """At most 30 a second over all chats; a full window of in-flight sends waits."""
    time = FakeTime()
    limits = RateLimits(per_chat_interval=0, global_max=2, global_window=1.0)
    pacer = ChatPacer(limits, clock=time.clock, sleep=time.sleep)
    release = asyncio.Event()

    async def hold(chat: int) -> None:
        async with pacer.slot(chat):
            await release.wait()

    holders = [asyncio.create_task(hold(c)) for c in (1, 2)]
    await asyncio.sleep(0)

    async def third() -> None:
        async with pacer.slot(3):
            pass

    waiter = asyncio.create_task(third())
    for _ in range(5):
        await asyncio.sleep(0)
    assert not waiter.done()
    assert time.sleeps and time.sleeps[0] == pytest.approx(0.01)
    release.set()
    await asyncio.gather(*holders, waiter)
    assert time.now >= 1.0


def test_format_size() -> None:
    """Sizes read naturally in notes and skip reasons."""
    assert [format_size(n) for n in (12, 2048, 60 * MB)] == [
        "12 B",
        "2.0 KB",
        "60.0 MB",
    ]


# ---- issue 11: transport failures, Telegram's HTML ------------------------------------


def _chained(outer: Exception, cause: Exception) -> Exception:
    outer.__cause__ = cause
    return outer


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        # Before sending: safe to send again.
        (_chained(TimedOut(), httpx.ConnectTimeout("c")), ErrorKind.TRANSIENT),
        (_chained(TimedOut(), httpx.PoolTimeout("p")), ErrorKind.TRANSIENT),
        (
            _chained(
                NetworkError("httpx.ConnectError: refused"), httpx.ConnectError("r")
            ),
            ErrorKind.TRANSIENT,
        ),
        (NetworkError("httpx.ConnectError: refused"), ErrorKind.TRANSIENT),
        (TimedOut("Pool timeout: All connections ... not sent"), ErrorKind.TRANSIENT),
        # May have reached Telegram: never sent again.
        (_chained(TimedOut(), httpx.ReadTimeout("r")), ErrorKind.UNCONFIRMED),
        (_chained(TimedOut(), httpx.WriteTimeout("w")), ErrorKind.UNCONFIRMED),
        (
            _chained(
                NetworkError("httpx.RemoteProtocolError: gone"),
                httpx.RemoteProtocolError("gone"),
            ),
            ErrorKind.UNCONFIRMED,
        ),
        # An answer (5xx) is not a transport failure.
        (NetworkError("Bad Gateway"), ErrorKind.TRANSIENT),
    ],
)
def test_transport_failures_classified(error: Exception, kind: ErrorKind) -> None:
    """Only failures known to precede sending may be retried for a send."""
    assert classify_error(error) is kind  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ("if a < b and c > d", "if a < b and c > d"),
        ("<B>bold</B> <a href='https://x'>link</a>", "bold link"),
        ("&lt;tag&gt; &amp; &quot;q&quot; &#65;&#x42;", '<tag> & "q" AB'),
        ("&nbsp; &copy; <br> <div>x</div>", "&nbsp; &copy; <br> <div>x</div>"),
        ('<span class="tg-spoiler">s</span><tg-spoiler>t</tg-spoiler>', "st"),
    ],
)
def test_plain_fallback_removes_only_telegram_markup(text: str, plain: str) -> None:
    """Only Telegram's tags and entities are markup; every other character stays."""
    assert html_to_plain(text) == plain


def test_split_closes_and_reopens_nested_tags() -> None:
    """Every chunk is balanced and the formatting continues in the next."""
    text = "<b>bold <i>" + "word " * 60 + "</i> tail</b>"
    chunks = split_text(text, 100, html_mode=True)
    assert len(chunks) > 2
    for chunk in chunks:
        assert len(chunk) <= 100
        assert html_problem(chunk) is None
    assert all(chunk.startswith("<b>") for chunk in chunks)
    # Cuts fall on spaces: joined with one, the text is whole again.
    assert html_to_plain(" ".join(chunks)).split() == html_to_plain(text).split()


def test_split_caption_keeps_formatting_in_continuation() -> None:
    """The caption closes its tags; the continuation reopens them."""
    caption, rest = split_caption("<i>" + "x " * 80 + "</i>", 50, html_mode=True)
    assert caption.endswith("</i>") and html_problem(caption) is None
    assert rest.startswith("<i>") and html_problem(rest) is None


@pytest.mark.parametrize(
    ("value", "mode"),
    [("html", "HTML"), ("HTML", "HTML"), (" Html ", "HTML"), ("markdownv2", "MarkdownV2"),
     ("MARKDOWN", "MarkdownV2"), ("Plain", None), ("NONE", None)],
)  # fmt: skip
def test_parse_mode_names_in_any_case(value: str, mode: str | None) -> None:
    """Mode names are compared case-insensitively."""
    assert normalize_parse_mode(value) == mode
