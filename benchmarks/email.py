"""E-mail sender benchmark against a real aiosmtpd server on loopback (no network).

(a) 100 messages, one after another, to a STARTTLS + AUTH server (as a real
    submission server on port 587): our `SmtpSender` reusing its session, against a
    new session per message (connect, EHLO, STARTTLS, EHLO, AUTH, send, QUIT) built
    from the same parts, measured in the same run;
(b) the size on the wire of a 10-photo notification (small generated JPEGs, as an
    Immich album notification carries previews), and the photo bytes it holds.

The last printed line is one JSON object of figures.
"""

from __future__ import annotations

from pathlib import Path
import sys

ROOT = Path(__file__).resolve().parents[1]
# This script is named "email": drop its folder from the path before anything
# imports the standard library's `email`, and import the project from the root.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]
sys.path.insert(0, str(ROOT))

import asyncio
import io
import json
import logging
import random
import time

from PIL import Image

from custom_components.notify_bridge.pipeline.models import (
    MediaItem,
    MediaType,
    Notification,
    OutputFormat,
)
from custom_components.notify_bridge.targets.email import (
    EmailDestination,
    EmailSettings,
    Recipients,
    Security,
    SmtpSender,
)
from tests.fakes.smtp_server import HOSTNAME, FakeSmtpServer, make_certificate

MESSAGES = 100
# Messages per batch; the two ways alternate batch by batch.
BATCH = 10
PHOTOS = 10
MESSAGE = (
    "<b>Tom</b> added 3 photos to <i>Holiday 2026</i>\n"
    '<a href="https://immich.example/albums/1">Open the album</a>'
)


def settings(server: FakeSmtpServer) -> EmailSettings:
    """Settings for the benchmark server (STARTTLS, AUTH)."""
    return EmailSettings(
        host=HOSTNAME,
        port=server.port,
        security=Security.STARTTLS,
        sender="bridge@example.org",
        sender_name="Notify Bridge",
        username="bridge",
        password="s3cret",  # noqa: S106 - the fake server's test login
    )


def destination(sender: SmtpSender) -> EmailDestination:
    """One recipient."""
    return EmailDestination(
        sender,
        destination_id="bench",
        name="Bench",
        recipients=Recipients(to=("alice@example.org",)),
    )


def note(index: int, media: tuple[MediaItem, ...] = ()) -> Notification:
    """One notification as a route renders it (HTML)."""
    return Notification(
        message=MESSAGE,
        title=f"New photos #{index}",
        media=media,
        output_format=OutputFormat.HTML,
    )


async def send_batch(dest: EmailDestination, first: int) -> None:
    """Send BATCH messages through one destination (one reused session)."""
    for index in range(first, first + BATCH):
        result = await dest.async_deliver(note(index))
        assert result.success, result


async def send_batch_connect_each(server: FakeSmtpServer, first: int) -> None:
    """Send BATCH messages, each on a new session (then QUIT), from the same parts."""
    context = server.certificate.client_context()  # type: ignore[union-attr]
    for index in range(first, first + BATCH):
        sender = SmtpSender(
            settings(server), tls_context=context, local_hostname="bench"
        )
        result = await destination(sender).async_deliver(note(index))
        assert result.success, result
        await sender.async_close()


async def compare(server: FakeSmtpServer) -> dict[str, float]:
    """MESSAGES each way, in interleaved batches so both see the same machine load
    (the machine is shared); wall and CPU time summed per way."""
    context = server.certificate.client_context()  # type: ignore[union-attr]
    ours = SmtpSender(settings(server), tls_context=context, local_hostname="bench")
    dest = destination(ours)
    wall = {"ours": 0.0, "each": 0.0}
    cpu = {"ours": 0.0, "each": 0.0}
    for batch in range(MESSAGES // BATCH):
        ways = ["ours", "each"] if batch % 2 == 0 else ["each", "ours"]
        for way in ways:
            started, started_cpu = time.perf_counter(), time.process_time()
            if way == "ours":
                await send_batch(dest, batch * BATCH)
            else:
                await send_batch_connect_each(server, batch * BATCH)
            wall[way] += time.perf_counter() - started
            cpu[way] += time.process_time() - started_cpu
    assert ours.stats.connections_opened == 1, ours.stats
    await ours.async_close()
    return {
        "messages_per_second_ours": round(MESSAGES / wall["ours"], 1),
        "messages_per_second_connect_each": round(MESSAGES / wall["each"], 1),
        "reuse_speedup": round(wall["each"] / wall["ours"], 2),
        "reuse_speedup_cpu": round(cpu["each"] / cpu["ours"], 2),
    }


def photos(count: int) -> tuple[MediaItem, ...]:
    """Small noisy JPEGs (noise compresses like a photo, flat colour would not)."""
    rng = random.Random(15)
    items = []
    for index in range(count):
        image = Image.effect_noise((320, 240), 40 + index).convert("RGB")
        tint = Image.new("RGB", image.size, tuple(rng.randrange(256) for _ in range(3)))
        out = io.BytesIO()
        Image.blend(image, tint, 0.5).save(out, "JPEG", quality=80)
        items.append(
            MediaItem(
                MediaType.PHOTO, data=out.getvalue(), filename=f"IMG_{index:04}.jpg"
            )
        )
    return tuple(items)


async def photo_mail(server: FakeSmtpServer) -> dict[str, int]:
    """Send a 10-photo notification; return its size on the wire."""
    context = server.certificate.client_context()  # type: ignore[union-attr]
    sender = SmtpSender(settings(server), tls_context=context, local_hostname="bench")
    media = photos(PHOTOS)
    before = len(server.received)
    result = await destination(sender).async_deliver(note(0, media))
    assert result.success and result.media_delivered == PHOTOS, result
    await sender.async_close()
    received = server.received[before]
    inline = [
        p for p in received.message.walk() if p.get_content_type() == "image/jpeg"
    ]
    assert len(inline) == PHOTOS
    return {
        "photo_mail_bytes": len(received.data),
        "photo_bytes": sum(len(item.data or b"") for item in media),
    }


async def main() -> None:
    """Run both parts against one server and print the figures."""
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    # RSA-2048, as most submission servers present (the handshake is part of
    # what a new session costs).
    certificate = make_certificate(rsa_bits=2048)
    async with FakeSmtpServer(certificate=certificate) as server:
        await compare(server)  # warm-up: first imports and code paths
        sent_before = len(server.received)
        speed = await compare(server)
        assert len(server.received) - sent_before == 2 * MESSAGES
        size = await photo_mail(server)
    figures = {
        "messages": MESSAGES,
        **speed,
        **size,
        "photo_mail_overhead": round(size["photo_mail_bytes"] / size["photo_bytes"], 3),
    }
    print(
        f"reuse: {speed['messages_per_second_ours']} msg/s, connect each: "
        f"{speed['messages_per_second_connect_each']} msg/s "
        f"(x{speed['reuse_speedup']}, CPU x{speed['reuse_speedup_cpu']})"
    )
    print(f"10-photo mail: {size['photo_mail_bytes']} bytes on the wire")
    print(json.dumps(figures))


if __name__ == "__main__":
    asyncio.run(main())
