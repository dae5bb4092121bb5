"""What arrives at a real SMTP server: structure, headers, inline images, links."""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage
import io
import re

from PIL import Image
import pytest

from custom_components.notify_bridge.pipeline.models import (
    DeliveryError,
    MediaItem,
    MediaType,
    Notification,
    OutputFormat,
)
from custom_components.notify_bridge.targets.email import (
    Recipients,
    SmtpSender,
)
from tests.fakes.smtp_server import FakeSmtpServer

from .conftest import RECIPIENT, SENDER, destination, settings_for


def jpeg(color: str = "red", size: tuple[int, int] = (32, 24)) -> bytes:
    """Return a small real JPEG."""
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG")
    return out.getvalue()


def body(message: EmailMessage, kind: str) -> str:
    """Return the text of the plain or HTML body, with newlines as a reader sees them."""
    part = message.get_body((kind,))
    assert part is not None
    return part.get_content().replace("\r\n", "\n")


def parts_by_type(message: EmailMessage) -> dict[str, list[EmailMessage]]:
    """Return every MIME part, grouped by content type."""
    found: dict[str, list[EmailMessage]] = {}
    for part in message.walk():
        found.setdefault(part.get_content_type(), []).append(part)  # type: ignore[arg-type]
    return found


def assert_friendly_headers(data: bytes, msg: EmailMessage) -> None:
    """To/Cc shown, Bcc hidden, Message-ID in the sender's domain, Date, no bulk
    headers, 7-bit clean (no 8BITMIME needed)."""
    assert msg["To"] == RECIPIENT and msg["Cc"] == "bob@example.org"
    assert "Bcc" not in msg and b"carol" not in data
    assert re.fullmatch(r"<[^@<>]+@example\.org>", msg["Message-ID"])
    assert msg["Date"].datetime.tzinfo is not None
    assert msg["From"].addresses[0].display_name == "Notify Bridge"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert "List-Unsubscribe" not in msg and "Precedence" not in msg
    assert msg["MIME-Version"] == "1.0"
    assert data.isascii()
    assert max(len(line) for line in data.split(b"\r\n")) <= 78


async def test_one_render_becomes_text_and_html_with_inline_photos(
    server: FakeSmtpServer, make_sender: Callable[..., SmtpSender]
) -> None:
    """An HTML render with escaped values: the HTML part shows it as is, the text
    part reads like the plain render; photos are inline by cid and named files."""
    photos = (
        MediaItem(MediaType.PHOTO, data=jpeg("red"), filename="beach.jpg"),
        MediaItem(MediaType.PHOTO, data=jpeg("blue")),
    )
    note = Notification(
        message='New photos by <b>Tom &amp; Jerry</b>\nAlbum: &lt;script&gt;x&lt;/script&gt;\n<a href="https://immich.example/a/1">Open album</a>',
        title="Holiday 2026",
        media=photos,
        output_format=OutputFormat.HTML,
    )
    dest = destination(
        make_sender(),
        recipients=Recipients(
            to=(RECIPIENT,), cc=("bob@example.org",), bcc=("carol@example.org",)
        ),
    )

    result = await dest.async_deliver(note)

    assert (result.success, result.messages_sent, result.media_delivered) == (
        True,
        1,
        2,
    )
    [received] = server.received
    assert received.mail_from == SENDER
    assert set(received.rcpt_tos) == {
        RECIPIENT,
        "bob@example.org",
        "carol@example.org",
    }
    msg = received.message
    assert msg.get_content_type() == "multipart/related"
    first = msg.get_payload()[0]  # type: ignore[index]
    assert first.get_content_type() == "multipart/alternative"
    text = body(msg, "plain")
    html = body(msg, "html")
    assert "New photos by Tom & Jerry" in text
    assert "Album: <script>x</script>" in text
    assert "Open album (https://immich.example/a/1)" in text
    assert "<b>Tom &amp; Jerry</b>" in html
    assert "&lt;script&gt;" in html and "<script>" not in html
    images = parts_by_type(msg)["image/jpeg"]
    assert len(images) == 2
    for image in images:
        cid = image["Content-ID"].strip("<>")
        assert f'src="cid:{cid}"' in html
        assert image.get_content_disposition() == "inline"
        assert image.get_filename()
        assert image.get_content() in (photos[0].data, photos[1].data)
    assert images[0].get_filename() == "beach.jpg"
    assert msg["Subject"] == "Holiday 2026"
    assert_friendly_headers(received.data, msg)


async def test_plain_notification_is_escaped_in_the_html_part(
    server: FakeSmtpServer, make_sender: Callable[..., SmtpSender]
) -> None:
    """Plain text with < and & stays text: escaped in HTML, unchanged in text."""
    note = Notification(message="if a < b && c > d\n<i>not markup</i>")

    await destination(make_sender()).async_deliver(note)

    msg = server.received[0].message
    assert msg.get_content_type() == "multipart/alternative"
    text = body(msg, "plain")
    html = body(msg, "html")
    assert "if a < b && c > d\n<i>not markup</i>" in text
    assert "if a &lt; b &amp;&amp; c &gt; d<br>" in html
    assert "<i>" not in html
    # No title: the first line is the subject.
    assert msg["Subject"] == "if a < b && c > d"


@pytest.mark.parametrize(
    "title",
    [
        "Hello\r\nBcc: evil@attacker.test",
        "Hello\nX-Injected: 1\n\n<html>body</html>",
        "Hello\rBcc: evil@attacker.test",
        "Hello\x00\x1b[31m\u2028Bcc: evil@attacker.test",
    ],
)
async def test_title_cannot_inject_headers(
    server: FakeSmtpServer, make_sender: Callable[..., SmtpSender], title: str
) -> None:
    """CR, LF and other controls in event data never start a header."""
    await destination(make_sender()).async_deliver(
        Notification(message="body", title=title)
    )

    received = server.received[0]
    msg = received.message
    assert "Bcc" not in msg and "X-Injected" not in msg
    assert received.rcpt_tos == (RECIPIENT,)
    assert msg["Subject"].startswith("Hello ")
    assert "\n" not in msg["Subject"] and "\r" not in msg["Subject"]
    headers = received.data.split(b"\r\n\r\n", 1)[0]
    assert headers.count(b"\r\nSubject:") == 1
    assert b"attacker" not in headers.replace(b"\r\n ", b" ").split(b"Subject:")[0]


async def test_non_ascii_subject_and_display_name_are_encoded(
    server: FakeSmtpServer, make_sender: Callable[..., SmtpSender]
) -> None:
    """Headers go out RFC 2047-encoded and decode back to the same text."""
    sender = make_sender(
        settings_for(server, sender_name='Grüße "Haus"\r\nBcc: x@y.test')
    )
    title = "Neue Fotos: Müller\u2019s Geburtstag 🎉 " + "lang " * 30

    await destination(sender).async_deliver(Notification(message="x", title=title))

    received = server.received[0]
    assert received.data.split(b"\r\n\r\n", 1)[0].isascii()
    assert received.message["Subject"] == title.strip()
    name = received.message["From"].addresses[0]
    assert name.display_name == 'Grüße "Haus" Bcc: x@y.test'
    assert name.addr_spec == SENDER
    assert received.rcpt_tos == (RECIPIENT,)


async def test_videos_and_media_over_the_budget_are_linked_not_attached(
    server: FakeSmtpServer, make_sender: Callable[..., SmtpSender]
) -> None:
    """A video is a link (its still inline); a photo beyond the per-message budget
    is a link too; both count as skipped and the summary says why."""
    big = jpeg("green", (400, 400))
    small = jpeg("red")
    sender = make_sender(settings_for(server, media_budget=len(small) + 2000))
    note = Notification(
        message="Album",
        media=(
            MediaItem(
                MediaType.VIDEO,
                url="https://immich.example/photos/v1",
                thumbnail=small,
                data=b"\x00" * 5000,
            ),
            MediaItem(MediaType.PHOTO, data=big, url="https://immich.example/big.jpg"),
        ),
    )

    result = await destination(sender).async_deliver(note)

    assert result.success
    assert (result.media_delivered, result.media_skipped) == (0, 2)
    assert any("videos are sent as links" in e for e in result.errors)
    assert any("per-message budget" in e for e in result.errors)
    msg = server.received[0].message
    types = parts_by_type(msg)
    assert "video/mp4" not in types and "application/octet-stream" not in types
    [still] = types["image/jpeg"]
    assert still.get_content() == small
    html = body(msg, "html")
    text = body(msg, "plain")
    assert 'href="https://immich.example/photos/v1"' in html
    assert 'href="https://immich.example/big.jpg"' in html
    assert "https://immich.example/big.jpg" in text


async def test_documents_are_attachments_with_safe_names(
    server: FakeSmtpServer, make_sender: Callable[..., SmtpSender]
) -> None:
    """A document becomes multipart/mixed attachment; a path in its name is cut."""
    note = Notification(
        message="Report",
        media=(
            MediaItem(
                MediaType.DOCUMENT,
                data=b"%PDF-1.4 x",
                filename="../../etc/re\r\nport.pdf",
            ),
        ),
    )

    result = await destination(make_sender()).async_deliver(note)

    assert result.media_delivered == 1
    msg = server.received[0].message
    assert msg.get_content_type() == "multipart/mixed"
    [pdf] = parts_by_type(msg)["application/pdf"]
    assert pdf.get_content_disposition() == "attachment"
    assert pdf.get_filename() == "re port.pdf"
    assert pdf.get_content() == b"%PDF-1.4 x"


async def test_empty_notification_is_a_permanent_failure(
    server: FakeSmtpServer, make_sender: Callable[..., SmtpSender]
) -> None:
    """Nothing to say: no mail, and no retry."""
    with pytest.raises(DeliveryError) as caught:
        await destination(make_sender()).async_deliver(Notification(message="  "))
    assert caught.value.permanent
    assert server.received == []


async def test_implicit_tls_and_plain_lan_server(
    socket_enabled: None,
) -> None:
    """Port-465 style TLS with a verified certificate, and an unencrypted server on
    loopback (allowed there) both deliver."""
    async with FakeSmtpServer(security="ssl") as tls_server:
        sender = SmtpSender(
            settings_for(tls_server),
            tls_context=tls_server.certificate.client_context(),  # type: ignore[union-attr]
        )
        await destination(sender).async_deliver(Notification(message="over TLS"))
        await sender.async_close()
        assert tls_server.messages()[0]["Subject"] == "over TLS"
    async with FakeSmtpServer(security="none", auth_require_tls=False) as plain:
        sender = SmtpSender(settings_for(plain))
        await destination(sender).async_deliver(Notification(message="on the LAN"))
        await sender.async_close()
        assert plain.messages()[0]["Subject"] == "on the LAN"
        assert [ok for _mechanism, ok in plain.auth_attempts] == [True]


async def test_server_size_limit_links_what_does_not_fit(socket_enabled: None) -> None:
    """A server announcing SIZE smaller than the mail: nothing is sent that it
    would refuse; the photos that fit are attached, the rest linked and counted."""
    async with FakeSmtpServer(data_size_limit=60_000) as small:
        context = small.certificate.client_context()  # type: ignore[union-attr]
        sender = SmtpSender(settings_for(small), tls_context=context)
        photos = tuple(
            MediaItem(
                MediaType.PHOTO,
                data=jpeg("red", (200, 150)) + bytes(6000),
                url=f"https://immich.example/{i}.jpg",
            )
            for i in range(10)
        )
        result = await destination(sender).async_deliver(
            Notification(message="big album", media=photos)
        )
        await sender.async_close()

        [received] = small.received
        assert len(received.data) <= 60_000
        assert result.success and result.messages_sent == 1
        assert result.media_delivered + result.media_skipped == 10
        assert 0 < result.media_delivered < 10
        images = parts_by_type(received.message)["image/jpeg"]
        assert len(images) == result.media_delivered
        html = body(received.message, "html")
        assert "https://immich.example/9.jpg" in html
