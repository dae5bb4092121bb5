"""The e-mail target end to end through Home Assistant, against a real SMTP server;
what arrived is parsed with the `email` package, as a mail client would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from email.message import EmailMessage
import io
import json
from typing import Any

from aiohttp import web
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from PIL import Image
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from custom_components.notify_bridge.const import DOMAIN
from custom_components.notify_bridge.diagnostics import (
    async_get_config_entry_diagnostics,
)
from tests.conftest import DEMO_EVENT, route
from tests.fakes.smtp_server import FakeSmtpServer

from .conftest import (
    ALICE,
    BOB,
    CAROL,
    FAMILY_ENTITY,
    FAMILY_ID,
    PASSWORD,
    SENDER,
    USER,
)

pytestmark = pytest.mark.usefixtures("trust_server")


def jpeg(width: int = 32, height: int = 24) -> bytes:
    """Return a small real JPEG."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), "teal").save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
async def media_site(socket_enabled: None) -> AsyncIterator[str]:
    """An HTTP server on 127.0.0.1 with a photo and a large file; its base URL."""
    app = web.Application()

    async def snap(_request: web.Request) -> web.Response:
        return web.Response(body=jpeg(), content_type="image/jpeg")

    async def big(_request: web.Request) -> web.Response:
        body = b"%PDF" + b"0" * (1536 * 1024)
        return web.Response(body=body, content_type="application/pdf")

    app.router.add_get("/snap.jpg", snap)
    app.router.add_get("/big.pdf", big)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def send(hass: HomeAssistant, **data: Any) -> dict[str, Any]:
    """Call notify_bridge.send and return its response."""
    return await hass.services.async_call(
        DOMAIN, "send", data, blocking=True, return_response=True
    )


def parts(msg: EmailMessage) -> dict[str, EmailMessage]:
    """Return the leaf parts by content type (the first of each)."""
    found: dict[str, EmailMessage] = {}
    for part in msg.walk():
        if not part.is_multipart():
            found.setdefault(part.get_content_type(), part)  # type: ignore[arg-type]
    return found


@pytest.mark.parametrize("email_options", [{"allowed_media_hosts": "127.0.0.1"}])
async def test_send_with_inline_photo(
    hass: HomeAssistant,
    server: FakeSmtpServer,
    setup_email: MockConfigEntry,
    media_site: str,
) -> None:
    """notify_bridge.send with a media URL: one mail, text and HTML alternatives,
    the photo inline by Content-ID; Bcc only in the envelope."""
    response = await send(
        hass,
        entity_id=[FAMILY_ENTITY],
        message="Two <b>new</b> photos &amp; more",
        title="Holiday\r\nBcc: mallory@evil.test",
        parse_mode="html",
        media=[{"url": f"{media_site}/snap.jpg", "type": "photo"}],
    )
    assert response["status"] == "ok"
    (result,) = response["summary"]["results"]
    assert (result["media_delivered"], result["media_failed"]) == (1, 0)
    (received,) = server.received
    assert received.mail_from == SENDER
    assert set(received.rcpt_tos) == {ALICE, BOB, CAROL}
    msg = received.message
    assert msg["Subject"] == "Holiday Bcc: mallory@evil.test"
    assert msg["Bcc"] is None and CAROL.encode() not in received.data
    assert msg["To"] == f"{ALICE}, {BOB}"
    assert msg["From"] == f"Notify Bridge <{SENDER}>"
    assert msg["Message-ID"].endswith("@example.org>") and msg["Date"]
    assert msg.get_content_type() == "multipart/related"
    by_type = parts(msg)
    text = by_type["text/plain"].get_content()
    assert text.splitlines()[0] == "Two new photos & more"
    assert "Attached: snap.jpg" in text
    html = by_type["text/html"].get_content()
    assert "<b>new</b> photos &amp; more" in html
    image = by_type["image/jpeg"]
    cid = image["Content-ID"].strip("<>")
    assert f'src="cid:{cid}"' in html
    assert image.get_content() == jpeg()
    assert image.get_content_disposition() == "inline"


@pytest.mark.parametrize(
    "email_options", [{"allowed_media_hosts": "127.0.0.1", "media_budget_mb": 1}]
)
async def test_over_budget_is_linked_and_counted_skipped(
    hass: HomeAssistant,
    server: FakeSmtpServer,
    setup_email: MockConfigEntry,
    media_site: str,
) -> None:
    """A file over the entry's per-mail budget is linked, not attached; a video is
    always linked; the summary counts both skipped."""
    big = f"{media_site}/big.pdf"
    video = f"{media_site}/clip.mp4"
    response = await send(
        hass,
        entity_id=[FAMILY_ENTITY],
        message="Report",
        media=[{"url": big, "type": "document"}, {"url": video, "type": "video"}],
    )
    (result,) = response["summary"]["results"]
    assert (result["media_delivered"], result["media_skipped"]) == (0, 2)
    msg = server.received[0].message
    assert msg.get_content_type() == "multipart/alternative"
    text = parts(msg)["text/plain"].get_content()
    assert big in text and video in text


async def test_notify_send_message_and_reused_connection(
    hass: HomeAssistant, server: FakeSmtpServer, setup_email: MockConfigEntry
) -> None:
    """notify.send_message is a plain mail (HTML escaped); consecutive messages go
    over the session opened at setup, not a connection each."""
    for text in ("Hello <you>", "Again"):
        await hass.services.async_call(
            "notify",
            "send_message",
            {"entity_id": FAMILY_ENTITY, "message": text, "title": "Hi"},
            blocking=True,
        )
    first, second = server.messages()
    assert first["Subject"] == "Hi"
    assert parts(first)["text/plain"].get_content().strip() == "Hello <you>"
    assert "Hello &lt;you&gt;" in parts(first)["text/html"].get_content()
    assert parts(second)["text/plain"].get_content().strip() == "Again"
    assert server.sessions_started == 1
    assert setup_email.runtime_data.sender.stats.connections_opened == 1


async def test_send_test_button(
    hass: HomeAssistant, server: FakeSmtpServer, setup_email: MockConfigEntry
) -> None:
    """The shared send_test button mails the list too."""
    await hass.services.async_call(
        "button", "press", {"entity_id": "button.family_send_test"}, blocking=True
    )
    (msg,) = server.messages()
    assert "Test notification" in parts(msg)["text/plain"].get_content()


@pytest.fixture
def routes() -> list:
    """The demo event to the family list, rendered as HTML for e-mail."""
    return [
        route(
            "route_demo",
            "Doorbell",
            {
                "event_type": DEMO_EVENT,
                "event_data": {},
                "destinations": [FAMILY_ENTITY],
                "template": "<b>Ring</b> {{ data.message }}",
                "title_template": "Door {{ data.where }}",
            },
        )
    ]


async def test_route_renders_html_and_text_from_one_template(
    hass: HomeAssistant,
    server: FakeSmtpServer,
    source_entry: MockConfigEntry,
    setup_email: MockConfigEntry,
) -> None:
    """Event values are escaped in the HTML part and read as written in the text
    part; the title is the subject (no header injection from event data)."""
    assert source_entry.state is ConfigEntryState.LOADED
    hass.bus.async_fire(
        DEMO_EVENT, {"message": "<script>x</script> & co", "where": "front\nBcc: x@y.z"}
    )
    await hass.async_block_till_done()
    (msg,) = server.messages()
    assert msg["Subject"] == "Door front Bcc: x@y.z"
    by_type = parts(msg)
    assert (
        "<b>Ring</b> &lt;script&gt;x&lt;/script&gt; &amp; co"
        in by_type["text/html"].get_content()
    )
    assert by_type["text/plain"].get_content().strip() == "Ring <script>x</script> & co"
    state = hass.states.get("sensor.family_last_delivery")
    assert state is not None and state.state not in ("unknown", "unavailable")


async def test_summary_statuses_and_partial_recipients(
    hass: HomeAssistant, server: FakeSmtpServer, setup_email: MockConfigEntry
) -> None:
    """One refused recipient: `partial`, naming them; all refused for good:
    `fail`; a 451 on MAIL then success: `ok` after the policy's retry."""
    server.script.refuse_rcpt[BOB] = "550 5.1.1 No such user"
    response = await send(hass, entity_id=[FAMILY_ENTITY], message="one")
    assert response["status"] == "partial"
    (result,) = response["summary"]["results"]
    assert any(BOB in error and "550" in error for error in result["errors"])
    assert server.received[-1].rcpt_tos == (ALICE, CAROL)

    for address in (ALICE, CAROL):
        server.script.refuse_rcpt[address] = "550 5.1.1 No such user"
    response = await send(hass, entity_id=[FAMILY_ENTITY], message="two")
    assert response["status"] == "fail"
    assert len(server.received) == 1

    server.script.refuse_rcpt.clear()
    server.script.mail.append("451 4.3.0 Try again later")
    response = await send(hass, entity_id=[FAMILY_ENTITY], message="three")
    assert response["status"] == "ok"
    assert len(server.received) == 2
    failed = hass.states.get("sensor.family_failed_deliveries")
    assert failed is not None and failed.state == "2"


async def test_repair_issue_after_repeated_failures(
    hass: HomeAssistant, server: FakeSmtpServer, setup_email: MockConfigEntry
) -> None:
    """Three deliveries refused for good raise the repair issue; a success clears it."""
    issues = ir.async_get(hass)
    issue_id = f"destination_failing_{FAMILY_ID}"
    server.script.data_reply.extend(["554 5.7.1 Message rejected as spam"] * 3)
    for index in range(3):
        response = await send(hass, entity_id=[FAMILY_ENTITY], message=f"m{index}")
        assert response["status"] == "fail"
        assert "554" in response["summary"]["errors"][0]
    issue = issues.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "destination_failing"
    assert issue.translation_placeholders["destination"] == "Family"
    response = await send(hass, entity_id=[FAMILY_ENTITY], message="back")
    assert response["status"] == "ok"
    assert issues.async_get_issue(DOMAIN, issue_id) is None
    assert [m["Subject"] for m in server.messages()] == ["back"]


async def test_reauth_when_login_refused_while_sending(
    hass: HomeAssistant, server: FakeSmtpServer, setup_email: MockConfigEntry
) -> None:
    """The password changed on the server (535): the delivery fails with a
    translated error, reauth starts once, and the refused password is not retried."""
    server.users[USER] = "changed"
    server.drop_all()  # the open session goes; the next one must log in
    for _ in range(2):
        with pytest.raises(HomeAssistantError) as failure:
            await hass.services.async_call(
                "notify",
                "send_message",
                {"entity_id": FAMILY_ENTITY, "message": "x"},
                blocking=True,
            )
        assert failure.value.translation_key == "delivery_failed"
        assert "login refused" in str(failure.value)
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]
    assert flows[0]["context"]["entry_id"] == setup_email.entry_id
    # One refused login (aiosmtplib tries PLAIN, then LOGIN); the second send did
    # not connect again: retrying a refused password risks a lockout.
    assert server.sessions_started == 2
    assert server.auth_attempts[0][1] is True
    assert not any(ok for _, ok in server.auth_attempts[1:])
    assert server.received == []

    result = await hass.config_entries.flow.async_configure(
        flows[0]["flow_id"], {"password": "changed"}
    )
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    await hass.services.async_call(
        "notify",
        "send_message",
        {"entity_id": FAMILY_ENTITY, "message": "works again"},
        blocking=True,
    )
    assert len(server.received) == 1


VOLATILE = props("port", "unique_id", "entry_id", "created_at", "modified_at")


async def test_diagnostics_hide_the_password(
    hass: HomeAssistant,
    server: FakeSmtpServer,
    setup_email: MockConfigEntry,
    snapshot: SnapshotAssertion,
) -> None:
    """The password is redacted; the server and sender counters are shown."""
    diagnostics = await async_get_config_entry_diagnostics(hass, setup_email)
    assert PASSWORD not in json.dumps(diagnostics, default=str)
    assert diagnostics["entry"]["data"]["password"] == "**REDACTED**"
    assert diagnostics["smtp"]["stats"]["connections_opened"] == 1
    assert diagnostics == snapshot(exclude=VOLATILE)
