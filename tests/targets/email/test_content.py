"""Pure parts of the e-mail target: bodies, subjects, addresses, media budget."""

from __future__ import annotations

import pytest

from custom_components.notify_bridge.pipeline.models import (
    MediaItem,
    MediaType,
    Notification,
    OutputFormat,
)
from custom_components.notify_bridge.pipeline.render import Renderer
from custom_components.notify_bridge.targets.email import (
    EmailSettings,
    MailBody,
    Recipients,
    Security,
    body_for,
    html_to_text,
    plain_host_allowed,
    subject_for,
)
from custom_components.notify_bridge.targets.email.media import async_plan_media

TEMPLATE = (
    "<b>{{ user }}</b> added {{ count }} photos to {{ album }}\n"
    '<a href="{{ url }}">Open</a>'
)
HOSTILE = {
    "user": "Tom & <Jerry>",
    "count": 3,
    "album": '"><img src=x onerror=alert(1)> &amp; more',
    "url": "https://immich.example/albums/1?a=1&b=2",
}


def test_text_part_of_the_html_render_reads_like_the_plain_render() -> None:
    """Values escaped for HTML come back exactly as a PLAIN render shows them."""
    renderer = Renderer()
    html = renderer.render(TEMPLATE, HOSTILE, OutputFormat.HTML)
    plain = renderer.render(TEMPLATE, HOSTILE, OutputFormat.PLAIN)

    body = body_for(Notification(message=html, output_format=OutputFormat.HTML))

    assert "<img" not in body.html.replace("&lt;img", "")
    assert "Tom &amp; &lt;Jerry&gt;" in body.html
    first_plain_line = plain.split("\n", 1)[0].replace("<b>", "").replace("</b>", "")
    assert body.text.split("\n", 1)[0] == first_plain_line
    assert "Open (https://immich.example/albums/1?a=1&b=2)" in body.text


def test_both_renders_can_be_supplied() -> None:
    """A caller with a PLAIN render gets it as the text part, untouched."""
    body = body_for(
        Notification(message="<b>Hi</b>\nthere", output_format=OutputFormat.HTML),
        plain_render="*Hi*\nthere",
    )
    assert body == MailBody(text="*Hi*\nthere", html="<b>Hi</b><br>\nthere")


@pytest.mark.parametrize(
    ("parse_mode", "fmt", "as_html"),
    [
        ("HTML", OutputFormat.PLAIN, True),
        ("html", OutputFormat.PLAIN, True),
        ("plain", OutputFormat.HTML, False),
        ("MarkdownV2", OutputFormat.HTML, False),
        (None, OutputFormat.HTML, True),
        (None, OutputFormat.MARKDOWN, False),
    ],
)
def test_parse_mode_decides_how_the_text_is_read(
    parse_mode: str | None, fmt: OutputFormat, as_html: bool
) -> None:
    """The caller's parse mode (any case) wins over the format; Markdown is text."""
    body = body_for(
        Notification(message="a <i>b</i>", output_format=fmt, parse_mode=parse_mode)
    )
    assert ("<i>" in body.html) is as_html
    assert body.text == ("a b" if as_html else "a <i>b</i>")


def test_html_to_text_keeps_what_is_not_markup() -> None:
    """Comparisons, entities once decoded, pre blocks, scripts dropped."""
    assert html_to_text("5 < 6 and 7 > 3") == "5 < 6 and 7 > 3"
    assert html_to_text("&amp;lt;b&amp;gt;") == "&lt;b&gt;"
    assert html_to_text("<pre>x\n  y</pre>") == "x\n  y"
    assert html_to_text("a<script>evil()</script>b") == "ab"
    assert html_to_text('<a href="https://x.org">https://x.org</a>') == "https://x.org"
    assert html_to_text('<a href="javascript:alert(1)">click</a>') == "click"


def test_subject_falls_back_and_is_one_line() -> None:
    """Title, then the default, then the first line; never CR/LF, capped."""
    body = MailBody.from_plain("first line\nsecond")
    assert subject_for("T\r\nBcc: x", None, body) == "T Bcc: x"
    assert subject_for(None, "Default", body) == "Default"
    assert subject_for("  \n ", None, body) == "first line"
    assert subject_for(None, None, MailBody.from_plain("")) == "Notification"
    assert len(subject_for("x" * 1000, None, body)) == 200


def test_password_is_never_in_repr() -> None:
    """Settings print without the password (logs, diagnostics)."""
    settings = EmailSettings(
        host="smtp.example.org",
        port=587,
        security=Security.STARTTLS,
        sender="a@example.org",
        username="a",
        password="hunter2-secret",
    )
    assert "hunter2" not in repr(settings) and "hunter2" not in str(settings)


@pytest.mark.parametrize(
    "address",
    ["no-at-sign", "a@b\r\nBcc: c@d", "Name <a@b.c>", "a@b.c, d@e.f", "@b.c", "a@"],
)
def test_bad_addresses_are_refused(address: str) -> None:
    """Only plain addresses go into headers and the envelope."""
    with pytest.raises(ValueError):
        Recipients(to=(address,))
    with pytest.raises(ValueError):
        EmailSettings(host="h", port=25, security=Security.NONE, sender=address)


def test_non_ascii_address_and_empty_recipients_are_refused() -> None:
    """No SMTPUTF8 is assumed; a destination without recipients is an error."""
    with pytest.raises(ValueError):
        Recipients(to=("jörg@example.org",))
    with pytest.raises(ValueError):
        Recipients(to=())
    assert Recipients(to=("a@x.org",), cc=("a@x.org", "b@x.org")).envelope == (
        "a@x.org",
        "b@x.org",
    )


@pytest.mark.parametrize(
    ("host", "addresses", "allowed"),
    [
        ("127.0.0.1", [], True),
        ("192.168.1.10", [], True),
        ("[::1]", [], True),
        ("8.8.8.8", [], False),
        ("localhost", [], True),
        ("nas.local", [], True),
        ("mail.home.arpa", [], True),
        ("smtp.example.org", [], False),
        ("mailserver", ["10.0.0.5"], True),
        ("smtp.example.org", ["10.0.0.5", "93.184.216.34"], False),
        ("smtp.gmail.com", ["142.250.1.108"], False),
        ("evil.test", ["::ffff:8.8.8.8"], False),
    ],
)
def test_plaintext_only_on_the_local_network(
    host: str, addresses: list[str], allowed: bool
) -> None:
    """Security `none` needs every address private (a public one anywhere: no)."""
    assert plain_host_allowed(host, addresses) is allowed


async def test_media_budget_attaches_in_order_and_links_the_rest() -> None:
    """20 MB by default; what does not fit is linked (with a reason), not dropped;
    identity-only items (after a restart) are skipped, not failures."""
    eight_mb = b"\xff\xd8\xff" + b"\x00" * (8 * 1024 * 1024)
    items = [
        MediaItem(MediaType.PHOTO, data=eight_mb, url=f"https://x.example/{i}.jpg")
        for i in range(3)
    ]
    items.append(MediaItem(MediaType.PHOTO, identity="immich:a1:preview"))
    items.append(MediaItem(MediaType.PHOTO, data=b"\xff\xd8\xff" + b"\x00" * 100))

    plan = await async_plan_media(
        items, budget=20 * 1024 * 1024, domain="example.org", download=None
    )

    assert [p.index for p in plan.parts] == [0, 1, 4]
    assert [(link.index, link.reason) for link in plan.linked] == [
        (2, "8.0 MB, over the 20.0 MB per-message budget"),
        (3, "media no longer available after a restart"),
    ]
    assert plan.failures == []
    assert all(p.cid and p.cid.endswith("@example.org") for p in plan.parts)
    assert len({p.cid for p in plan.parts}) == 3
