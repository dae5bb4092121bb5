"""The fake Bot API itself: spec checks, scripted failures and flood limits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
import json
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, FormData
import httpx
import pytest
from telegram import Bot, InputMediaDocument, InputMediaPhoto
from telegram.error import BadRequest, Conflict, InvalidToken, RetryAfter

from custom_components.notify_bridge.targets.telegram.request import (
    SharedClientRequest,
    retry_after_seconds,
)
from tests.fakes.telegram_server import (
    SPEC_FILE,
    FakeRateLimits,
    FakeTelegramServer,
    html_problem,
    make_jpeg,
)

pytestmark = pytest.mark.usefixtures("socket_enabled")


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    """Run the fake (violations are what these tests look at, so no assertion)."""
    async with FakeTelegramServer() as fake:
        yield fake


@pytest.fixture
async def http() -> AsyncIterator[ClientSession]:
    """Yield a raw HTTP client for hand-made requests."""
    async with ClientSession() as client:
        yield client


@asynccontextmanager
async def bot_for(
    fake: FakeTelegramServer, token: str | None = None
) -> AsyncIterator[Bot]:
    """Yield a real PTB bot talking to a fake, through the integration's request."""
    async with (
        httpx.AsyncClient() as http_client,
        Bot(
            token or fake.token,
            base_url=fake.base_url,
            request=SharedClientRequest(http_client),
        ) as client,
    ):
        yield client


@pytest.fixture
async def bot(server: FakeTelegramServer) -> AsyncIterator[Bot]:
    """Yield a real PTB bot talking to the fake."""
    async with bot_for(server) as client:
        yield client


async def post(
    http: ClientSession, server: FakeTelegramServer, method: str, **kwargs: Any
) -> tuple[int, dict[str, Any]]:
    """POST to the fake; return status and JSON body."""
    url = f"{server.base_url}{server.token}/{method}"
    async with http.post(url, **kwargs) as response:
        return response.status, await response.json()


# In a clone without ../shared the fake runs unchecked; these tests need the spec.
requires_spec = pytest.mark.skipif(
    not SPEC_FILE.is_file(),
    reason=f"{SPEC_FILE} not found: Bot API spec checks skipped",
)


@requires_spec
def test_spec_file_is_found() -> None:
    """The spec sits next to the repository, where the fake looks."""
    assert SPEC_FILE.resolve().is_file()


async def test_real_bot_calls_pass_spec(server: FakeTelegramServer, bot: Bot) -> None:
    """The calls PTB makes follow the spec; answers are real Message objects."""
    me = await bot.get_me()
    assert me.id == server.bot_id
    message = await bot.send_photo(
        5, make_jpeg(80, 60), caption="c", message_thread_id=3
    )
    assert message.photo[-1].width == 80
    assert message.message_thread_id == 3
    file_id = message.photo[-1].file_id
    album = await bot.send_media_group(
        -100, [InputMediaPhoto(file_id), InputMediaPhoto(make_jpeg(), filename="b.jpg")]
    )
    assert len({m.media_group_id for m in album}) == 1
    docs = await bot.send_document("@news", b"doc", filename="d.txt")
    assert docs.chat.type == "channel"
    assert await bot.set_my_commands([("start", "Start")])
    assert await bot.delete_webhook()
    info = await bot.get_webhook_info()
    assert info.url == ""
    assert server.spec_violations == []
    assert server.uploaded_bytes > 0
    assert server.calls_to("sendPhoto")[0].params["message_thread_id"] == 3


@requires_spec
@pytest.mark.parametrize(
    ("method", "data", "violation"),
    [
        (
            "sendMessage",
            {"chat_id": "1", "text": "x", "colour": "red"},
            "unknown field colour",
        ),
        ("sendMessage", {"chat_id": "1"}, "missing required field text"),
        (
            "sendMessage",
            {"chat_id": "1", "text": "x", "disable_notification": "maybe"},
            "Boolean",
        ),
        (
            "sendMessage",
            {"chat_id": "1", "text": "x", "message_thread_id": "two"},
            "Integer",
        ),
        ("sendMessages", {"chat_id": "1", "text": "x"}, "unknown method"),
        ("sendMediaGroup", {"chat_id": "1", "media": "[1]"}, "InputMedia"),
        (
            "sendMediaGroup",
            {
                "chat_id": "1",
                "media": json.dumps([{"type": "photo", "media": "x", "size": 1}]),
            },
            "unknown field InputMediaPhoto.size",
        ),
        (
            "sendMediaGroup",
            {"chat_id": "1", "media": json.dumps([{"type": "photo"}])},
            "missing InputMediaPhoto.media",
        ),
        (
            "sendMediaGroup",
            {
                "chat_id": "1",
                "media": json.dumps(
                    [{"type": "photo", "media": "x", "supports_streaming": True}] * 2
                ),
            },
            "unknown field",
        ),
        (
            "setMyCommands",
            {"commands": json.dumps([{"command": "a"}])},
            "BotCommand.description",
        ),
        (
            "sendMessage",
            {"chat_id": "1", "text": "x", "reply_parameters": "[]"},
            "ReplyParameters",
        ),
    ],
)
async def test_spec_violations_detected(
    server: FakeTelegramServer,
    http: ClientSession,
    method: str,
    data: dict[str, str],
    violation: str,
) -> None:
    """Unknown methods/fields, missing fields and wrong types are refused."""
    status, body = await post(http, server, method, data=data)
    assert status == 400
    assert violation in body["description"]
    assert len(server.spec_violations) == 1


@requires_spec
async def test_json_and_query_bodies(
    server: FakeTelegramServer, http: ClientSession
) -> None:
    """JSON bodies keep native types; query strings are read too."""
    status, body = await post(
        http,
        server,
        "sendMessage",
        json={"chat_id": 7, "text": "hi", "disable_notification": True},
    )
    assert status == 200
    assert body["result"]["text"] == "hi"
    status, body = await post(
        http, server, "sendMessage", json={"chat_id": 7, "text": 5}
    )
    assert status == 400
    status, _ = await post(
        http, server, "sendMessage", params={"chat_id": "7", "text": "q"}
    )
    assert status == 200


@requires_spec
async def test_attach_references_checked(
    server: FakeTelegramServer, http: ClientSession
) -> None:
    """attach:// must name a part; every part must be referenced."""
    form = FormData()
    form.add_field("chat_id", "1")
    form.add_field("media", json.dumps([{"type": "photo", "media": "attach://p1"}] * 2))
    form.add_field("p2", b"data", filename="a.jpg")
    status, body = await post(http, server, "sendMediaGroup", data=form)
    assert status == 400
    assert "attach://p1 has no multipart part" in body["description"]
    form = FormData()
    form.add_field("chat_id", "1")
    form.add_field("text", "x")
    form.add_field("stray", b"data", filename="a.jpg")
    status, body = await post(http, server, "sendMessage", data=form)
    assert "not referenced" in body["description"]
    form = FormData()
    form.add_field("chat_id", "1")
    form.add_field("photo", "attach://nothing")
    status, body = await post(http, server, "sendPhoto", data=form)
    assert status == 400


async def test_media_group_rules(server: FakeTelegramServer, bot: Bot) -> None:
    """Albums need 2-10 items and keep documents apart; file ids must match kinds."""
    photo = (await bot.send_photo(1, make_jpeg())).photo[-1].file_id
    with pytest.raises(BadRequest, match="(?i)mixed"):
        await bot.send_media_group(
            1, [InputMediaPhoto(photo), InputMediaDocument(b"d", filename="d.txt")]
        )
    with pytest.raises(BadRequest, match="(?i)number of media"):
        await bot.send_media_group(1, [InputMediaPhoto(photo)] * 11)
    with pytest.raises(BadRequest, match="(?i)mismatch"):
        await bot.send_document(1, photo)
    with pytest.raises(BadRequest, match="(?i)wrong file identifier"):
        await bot.send_photo(1, "AgACunknown")
    server.invalidate_file_ids()
    with pytest.raises(BadRequest, match="(?i)temporarily unavailable"):
        await bot.send_photo(1, photo)


async def test_sizes_and_lengths(bot: Bot) -> None:
    """Oversized uploads, photos, texts and captions are refused like Telegram does."""
    async with (
        FakeTelegramServer(upload_limit=2000, photo_limit=1000) as small,
        bot_for(small) as tiny,
    ):
        with pytest.raises(Exception, match="413|Request Entity Too Large"):
            await tiny.send_document(1, b"x" * 3000, filename="a.bin")
        with pytest.raises(BadRequest, match="(?i)PHOTO_INVALID_DIMENSIONS"):
            await tiny.send_photo(1, b"x" * 1500)
    with pytest.raises(BadRequest, match="(?i)too long"):
        await bot.send_message(1, "x" * 4097)
    with pytest.raises(BadRequest, match="(?i)caption is too long"):
        await bot.send_photo(1, make_jpeg(), caption="x" * 1025)


async def test_scripted_failures(server: FakeTelegramServer, bot: Bot) -> None:
    """429 with retry_after, chat-scoped failures and token checks."""
    server.fail_next("Too Many Requests: retry after 4", status=429, retry_after=4)
    with pytest.raises(RetryAfter) as err:
        await bot.send_message(1, "x")
    assert retry_after_seconds(err.value) == 4
    server.fail_next("Bad Request: chat not found", chat_id=2, method="sendMessage")
    await bot.send_message(1, "unaffected")
    with pytest.raises(BadRequest, match="(?i)chat not found"):
        await bot.send_message(2, "x")
    server.webhook_url = "https://example.invalid"
    with pytest.raises(Conflict):
        await bot.get_updates()
    with pytest.raises(InvalidToken):
        async with bot_for(server, "999:WRONG"):
            pass


async def test_media_served(server: FakeTelegramServer, http: ClientSession) -> None:
    """The fake serves registered media and 404s others."""
    url = server.add_media("a.bin", b"abc", "application/octet-stream")
    async with http.get(url) as response:
        assert await response.read() == b"abc"
    async with http.get(url + "x") as response:
        assert response.status == 404


async def test_flood_limits_enforced(bot: Bot) -> None:
    """Per chat, per group and global limits answer 429 with retry_after."""
    limits = FakeRateLimits(per_chat_interval=10, group_max=2, group_window=60)
    async with (
        FakeTelegramServer(enforce_limits=True, rate_limits=limits) as fake,
        bot_for(fake) as paced,
    ):
        await paced.send_message(1, "a")
        with pytest.raises(RetryAfter):
            await paced.send_message(1, "b")
        await paced.send_message(2, "c")
        assert fake.rate_limited == 1
    limits = FakeRateLimits(per_chat_interval=0, group_max=2, group_window=60)
    async with (
        FakeTelegramServer(enforce_limits=True, rate_limits=limits) as fake,
        bot_for(fake) as paced,
    ):
        await paced.send_message(-5, "a")
        await paced.send_message(-5, "b")
        with pytest.raises(RetryAfter):
            await paced.send_message(-5, "c")
    limits = FakeRateLimits(per_chat_interval=0, global_max=2, global_window=60)
    async with (
        FakeTelegramServer(enforce_limits=True, rate_limits=limits) as fake,
        bot_for(fake) as paced,
    ):
        await paced.send_message(1, "a")
        await paced.send_message(2, "b")
        with pytest.raises(RetryAfter):
            await paced.send_message(3, "c")


async def test_without_spec_checks_are_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """When the spec file is absent the fake still works and says so."""
    async with FakeTelegramServer(spec_path=tmp_path / "missing.json") as fake:
        assert "spec checks skipped" in capsys.readouterr().out
        async with bot_for(fake) as plain:
            message = await plain.send_message(1, "x", disable_notification=True)
            assert message.text == "x"
        assert fake.calls_to("sendMessage")[0].params["disable_notification"] is True


async def test_hang_released_on_close() -> None:
    """A hanging answer does not keep the server from closing."""
    fake = await FakeTelegramServer().start()
    fake.hang_next(30, method="sendMessage")
    async with bot_for(fake) as client:
        with pytest.raises(Exception, match="(?i)timed out"):
            await client.send_message(1, "x", read_timeout=0.1)
    await fake.close()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("<b>bold</b> &amp; <a href='x'>l</a>", None),
        ("<blink>x</blink>", "Unsupported start tag"),
        ("<b>open", "end tag"),
        ("<b>x</i>", "end tag"),
        ("a < b", "byte offset 2"),
        ("AT&T", "Unsupported entity"),
        ("x</b>", "end tag"),
    ],
)
def test_html_validator(text: str, problem: str | None) -> None:
    """The fake parses HTML like Telegram: few tags, balanced, escaped entities."""
    result = html_problem(text)
    if problem is None:
        assert result is None
    else:
        assert result is not None and problem in result
