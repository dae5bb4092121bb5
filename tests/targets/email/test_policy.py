"""E-mail destinations under the delivery policy: quiet hours, digests, outbox
restore; and media URLs through the SSRF-guarded downloader."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime, time
import io
from zoneinfo import ZoneInfo

from aiohttp import ClientSession, web
from PIL import Image
import pytest

from custom_components.notify_bridge.net import UrlPolicy
from custom_components.notify_bridge.pipeline.models import (
    DeliveryContext,
    MediaItem,
    MediaType,
    Notification,
    OutputFormat,
)
from custom_components.notify_bridge.pipeline.policy import (
    DeliveryPolicy,
    QuietHours,
    RetryPolicy,
)
from custom_components.notify_bridge.targets.email import SmtpSender, url_downloader
from tests.fakes.smtp_server import FakeSmtpServer

from .conftest import destination

TZ = ZoneInfo("Europe/Berlin")


class Clock:
    """A settable local clock."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def png() -> bytes:
    """Return a small real PNG."""
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "purple").save(out, "PNG")
    return out.getvalue()


async def test_quiet_hours_digest_is_one_mail(
    server: FakeSmtpServer, make_sender: Callable[..., SmtpSender]
) -> None:
    """Three notifications deferred at night become one digest mail in the morning,
    with every message (escaped: the digest is HTML) and the photos inline."""
    clock = Clock(datetime(2026, 12, 1, 23, 30, tzinfo=TZ))
    policy = DeliveryPolicy(clock=clock, retry=RetryPolicy(base_delay=0.001))
    dest = destination(make_sender())
    policy.set_quiet_hours(dest.destination_id, QuietHours(time(22), time(7)))
    context = DeliveryContext(route_id="r1", route_name="Album <Family>", digest=True)
    for index in range(3):
        result = await policy.async_deliver(
            dest,
            Notification(
                message=f"photo &lt;{index}&gt; added",
                output_format=OutputFormat.HTML,
                media=(MediaItem(MediaType.PHOTO, data=png()),),
            ),
            context,
        )
        assert result.deferred
    assert server.received == []

    clock.now = datetime(2026, 12, 2, 7, 5, tzinfo=TZ)
    sent = await policy.async_flush(lambda _id: dest)

    assert sent == 3
    [msg] = server.messages()
    assert msg["Subject"] == "Album <Family>"
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "3 notifications from Album <Family>" in text
    assert all(f"photo <{i}> added" in text for i in range(3))
    assert "Album &lt;Family&gt;" in html
    images = [p for p in msg.walk() if p.get_content_type() == "image/png"]
    assert len(images) == 3


async def test_outbox_restored_after_restart_without_media_bytes(
    server: FakeSmtpServer, make_sender: Callable[..., SmtpSender]
) -> None:
    """What waited is stored without bytes: after a restart the mail still goes,
    the photo known only by identity is reported skipped, not lost silently."""
    saved: list[dict] = []

    async def save(data: dict) -> None:
        saved.append(data)

    clock = Clock(datetime(2026, 12, 1, 23, 30, tzinfo=TZ))
    before = DeliveryPolicy(clock=clock, save=save)
    dest = destination(make_sender())
    before.set_quiet_hours(dest.destination_id, QuietHours(time(22), time(7)))
    await before.async_deliver(
        dest,
        Notification(
            message="one photo",
            media=(
                MediaItem(MediaType.PHOTO, data=png(), identity="immich:a:preview"),
            ),
        ),
        DeliveryContext(route_id="r", route_name="R", digest=True),
    )

    after = DeliveryPolicy(clock=clock)
    after.restore(saved[-1])
    delivered: list = []
    after.on_delivered = delivered.extend
    await after.async_flush(lambda _id: dest, force=True)

    [msg] = server.messages()
    assert "one photo" in msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    [result] = delivered
    assert (result.messages_sent, result.media_skipped) == (1, 1)
    assert "no longer available" in result.errors[0]


@pytest.fixture
async def media_site(socket_enabled: None) -> AsyncIterator[str]:
    """An HTTP server on 127.0.0.1 with a photo; yields its base URL."""
    app = web.Application()
    photo = png()

    async def serve(request: web.Request) -> web.Response:
        return web.Response(body=photo, content_type="image/png")

    app.router.add_get("/photo.png", serve)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_media_urls_go_through_the_url_guard(
    server: FakeSmtpServer, make_sender: Callable[..., SmtpSender], media_site: str
) -> None:
    """An allowed URL is downloaded and inlined; the same host refused by the guard
    (loopback is not public) is a media failure, and the mail still goes."""
    url = f"{media_site}/photo.png"
    note = Notification(message="look", media=(MediaItem(MediaType.PHOTO, url=url),))
    async with ClientSession() as session:
        trusted = destination(
            make_sender(),
            download=url_downloader(session, UrlPolicy(allowlist=("127.0.0.1/32",))),
        )
        guarded = destination(
            make_sender(), download=url_downloader(session, UrlPolicy())
        )

        ok = await trusted.async_deliver(note)
        refused = await guarded.async_deliver(note)

    assert (ok.success, ok.media_delivered) == (True, 1)
    first, second = server.messages()
    [image] = [p for p in first.walk() if p.get_content_type() == "image/png"]
    assert image.get_content() == png()
    assert image.get_filename() == "photo.png"
    assert (refused.success, refused.messages_sent, refused.media_failed) == (
        False,
        1,
        1,
    )
    assert "not public" in refused.errors[0]
    assert not [p for p in second.walk() if p.get_content_maintype() == "image"]
