"""The e-mail target's flows through Home Assistant, against a real SMTP server."""

from __future__ import annotations

import socket
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.notify_bridge.const import DOMAIN
from custom_components.notify_bridge.kinds.email import config_flow as email_flow
from custom_components.notify_bridge.kinds.email.setup import EmailRuntime
from tests.common import start_entry_flow, start_subentry_flow
from tests.fakes.smtp_server import HOSTNAME, FakeSmtpServer

from .conftest import (
    ALICE,
    BOB,
    CAROL,
    FAMILY_ID,
    PASSWORD,
    SENDER,
    USER,
    account_input,
)


async def _submit(hass: HomeAssistant, form: dict[str, Any]) -> dict[str, Any]:
    result = await start_entry_flow(hass, "email")
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "email"
    return await hass.config_entries.flow.async_configure(result["flow_id"], form)


@pytest.mark.usefixtures("trust_server")
async def test_create_entry(hass: HomeAssistant, server: FakeSmtpServer) -> None:
    """Connect, STARTTLS, login and MAIL FROM before the entry exists; a device per
    entry; the same account again is refused in the kind's words."""
    result = await _submit(hass, account_input(server))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == f"{SENDER} ({HOSTNAME})"
    assert result["data"] == {
        "kind": "email",
        "host": HOSTNAME,
        "port": server.port,
        "security": "starttls",
        "username": USER,
        "password": PASSWORD,
        "sender": SENDER,
        "sender_name": "Notify Bridge",
        "verify_ssl": True,
        "media_budget_mb": 20,
    }
    entry = result["result"]
    assert entry.unique_id == f"{HOSTNAME}:{server.port}:{USER}"
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert isinstance(entry.runtime_data, EmailRuntime)
    # The flow's check and the setup's first session both logged in.
    assert [ok for _, ok in server.auth_attempts] == [True, True]
    assert server.received == []
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, entry.entry_id), entry.entry_id
    )
    assert device is not None and device.manufacturer == "E-mail (SMTP)"

    result = await _submit(hass, account_input(server, sender_name="Other"))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "email_already_configured"
    assert await hass.config_entries.async_unload(entry.entry_id)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.usefixtures("trust_server")
@pytest.mark.parametrize(
    ("changes", "error", "reason", "words"),
    [
        ({"password": "wrong"}, "email_invalid_auth", "invalid auth", "535"),
        ({"port": "closed"}, "email_cannot_connect", "refused", ""),
        ({"sender": "mallory@evil.test"}, "email_sender_refused", "", "553"),
        (
            {"security": "none", "host": "8.8.8.8", "port": 25},
            "email_insecure_host",
            "insecure host",
            "8.8.8.8",
        ),
    ],
)
async def test_server_errors(
    hass: HomeAssistant,
    server: FakeSmtpServer,
    changes: dict[str, Any],
    error: str,
    reason: str,
    words: str,
) -> None:
    """Each failure is its own translated error naming the server and why; the
    same form then goes through once fixed."""
    if changes.get("port") == "closed":
        changes["port"] = _closed_port()
    if "sender" in changes:
        server.script.mail.append("553 5.7.1 Sender address not owned by user")
    result = await _submit(hass, account_input(server, **changes))
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}
    placeholders = result["description_placeholders"]
    assert placeholders["server"].endswith(
        f":{account_input(server, **changes)['port']}"
    )
    if reason:
        assert placeholders["reason"] == reason
    assert words in placeholders["detail"] or words in placeholders["server"]
    assert "<" not in placeholders["detail"]
    assert server.received == []
    assert hass.config_entries.async_entries(DOMAIN) == []

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], account_input(server)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()


async def test_untrusted_certificate_is_tls_failed(
    hass: HomeAssistant, server: FakeSmtpServer
) -> None:
    """Home Assistant's CA store does not know a self-signed certificate: the
    password is never sent; without verification the same server is accepted."""
    result = await _submit(hass, account_input(server))
    assert result["errors"] == {"base": "email_tls_failed"}
    assert result["description_placeholders"]["reason"] == "certificate"
    assert server.auth_attempts == []
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], account_input(server, verify_ssl=False)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"]["verify_ssl"] is False
    await hass.async_block_till_done()
    assert result["result"].state is ConfigEntryState.LOADED


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({"host": "smtp://mail.example.org/"}, {"host": "email_invalid_host"}),
        ({"sender": "Bridge <bridge@example.org>"}, {"sender": "email_invalid_sender"}),
        ({"sender": "not an address"}, {"sender": "email_invalid_sender"}),
        ({"username": None}, {"username": "email_username_missing"}),
        (
            {"allowed_media_hosts": "not a host!"},
            {"allowed_media_hosts": "invalid_media_hosts"},
        ),
    ],
)
async def test_form_errors_before_connecting(
    hass: HomeAssistant,
    server: FakeSmtpServer,
    changes: dict[str, Any],
    errors: dict[str, str],
) -> None:
    """Malformed input is refused on its field without talking to the server."""
    result = await _submit(hass, account_input(server, **changes))
    assert result["errors"] == errors
    assert server.sessions_started == 0


async def test_plain_smtp_on_loopback(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    """Security none is accepted for a server on this machine (no login needed)."""
    async with FakeSmtpServer(security="none", users={}) as plain:
        form = account_input(
            plain, host="127.0.0.1", security="none", username=None, password=None
        )
        result = await _submit(hass, form)
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["data"]["security"] == "none"
        assert "password" not in result["data"]
        assert result["result"].unique_id == f"127.0.0.1:{plain.port}:"
        await hass.async_block_till_done()
        assert result["result"].state is ConfigEntryState.LOADED
        assert await hass.config_entries.async_unload(result["result"].entry_id)


@pytest.mark.usefixtures("trust_server")
async def test_reauth_when_password_refused_at_setup(
    hass: HomeAssistant, server: FakeSmtpServer, email_entry: MockConfigEntry
) -> None:
    """A changed password fails setup with reauth; the new one is checked and kept."""
    server.users[USER] = "n3w"
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    assert email_entry.state is ConfigEntryState.SETUP_ERROR
    (flow,) = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert flow["context"]["source"] == "reauth"
    assert flow["step_id"] == "reauth_confirm"
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {"password": "still wrong"}
    )
    assert result["errors"] == {"base": "email_invalid_auth"}
    assert result["description_placeholders"]["server"] == f"{HOSTNAME}:{server.port}"
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {"password": "n3w"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert email_entry.data["password"] == "n3w"
    assert email_entry.state is ConfigEntryState.LOADED
    assert await hass.config_entries.async_unload(email_entry.entry_id)


@pytest.mark.usefixtures("trust_server")
async def test_setup_retried_when_server_down(
    hass: HomeAssistant, server: FakeSmtpServer, email_entry: MockConfigEntry
) -> None:
    """An unreachable server at start-up: retried later, no reauth."""
    await server.__aexit__(None, None, None)
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    assert email_entry.state is ConfigEntryState.SETUP_RETRY
    assert "could not be used" in (email_entry.reason or "")
    assert hass.config_entries.flow.async_progress_by_handler(DOMAIN) == []


async def test_reconfigure(
    hass: HomeAssistant, server: FakeSmtpServer, setup_email: MockConfigEntry
) -> None:
    """An empty password keeps the stored one; errors show; another entry's account
    is refused."""
    entry = setup_email
    result = await entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure"
    assert result["description_placeholders"]["service"] == "E-mail (SMTP)"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], account_input(server, password=None, security="ssl")
    )
    assert result["errors"] == {"base": "email_tls_failed"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        account_input(server, password=None, sender_name="Home", media_budget_mb=5),
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.data["password"] == PASSWORD
    assert entry.data["sender_name"] == "Home"
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.sender.settings.media_budget == 5 * 1024 * 1024
    assert list(entry.subentries) == [FAMILY_ID]

    other = MockConfigEntry(
        domain=DOMAIN, data={"kind": "email"}, unique_id=f"{HOSTNAME}:{server.port}:x"
    )
    other.add_to_hass(hass)
    server.users["x"] = "y"
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], account_input(server, username="x", password="y")
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "email_already_configured"
    assert entry.data["username"] == USER


# --- recipients -------------------------------------------------------------------


async def test_recipient_flow(
    hass: HomeAssistant, server: FakeSmtpServer, setup_email: MockConfigEntry
) -> None:
    """Invalid addresses are refused per field; a valid list becomes a notify
    entity on its own device, linked to the entry's; the same list twice aborts."""
    entry = setup_email
    result = await start_subentry_flow(hass, entry)
    assert result["step_id"] == "user"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {"to": ["dave@example.org", "Dave <dave@example.org>"], "cc": ["nope"]},
    )
    assert result["errors"] == {"to": "invalid_address", "cc": "invalid_address"}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"to": ["a@example.org\r\nBcc: x@evil.test"]}
    )
    assert result["errors"] == {"to": "invalid_address"}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {"to": ["dave@example.org", "erin@example.org"], "subject": " Home "},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    sub = next(s for s in entry.subentries.values() if s.subentry_id != FAMILY_ID)
    assert sub.title == "dave@example.org, erin@example.org"
    assert sub.data == {
        "to": ["dave@example.org", "erin@example.org"],
        "subject": "Home",
    }
    (entity_id,) = (
        e.entity_id
        for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        if e.config_subentry_id == sub.subentry_id and e.domain == "notify"
    )
    assert hass.states.get(entity_id) is not None
    devices = dr.async_get(hass)
    device = devices.async_get_device_by_identifier(
        (DOMAIN, sub.subentry_id), entry.entry_id
    )
    assert device is not None and device.model == "Recipient list"
    parent = devices.async_get_device_by_identifier(
        (DOMAIN, entry.entry_id), entry.entry_id
    )
    assert parent is not None and device.via_device_id == parent.id

    result = await start_subentry_flow(hass, entry)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"to": ["ERIN@example.org", "dave@example.org"]}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_recipient_needs_to_and_whole_quiet_hours(
    hass: HomeAssistant, server: FakeSmtpServer, setup_email: MockConfigEntry
) -> None:
    """Only Bcc is not a list; quiet hours need both ends."""
    result = await start_subentry_flow(hass, setup_email)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {"to": [], "bcc": [CAROL], "quiet_hours": {"quiet_start": "22:00:00"}},
    )
    # The section's error at the top: the frontend shows none inside a section.
    assert result["errors"] == {"to": "no_recipients", "base": "quiet_hours_incomplete"}


async def test_recipient_reconfigure(
    hass: HomeAssistant, server: FakeSmtpServer, setup_email: MockConfigEntry
) -> None:
    """Edit the list: new addresses, a name, quiet hours, a language."""
    entry = setup_email
    sub = entry.subentries[FAMILY_ID]
    result = await entry.start_subentry_reconfigure_flow(hass, sub.subentry_id)
    assert result["step_id"] == "reconfigure"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            "to": [ALICE],
            "cc": [BOB],
            "name": "Family",
            "language": "de",
            "quiet_hours": {
                "quiet_start": "22:00:00",
                "quiet_end": "07:00:00",
                "quiet_mode": "defer",
            },
        },
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    sub = entry.subentries[FAMILY_ID]
    assert sub.data["to"] == [ALICE] and sub.data["cc"] == [BOB]
    assert "bcc" not in sub.data
    assert sub.unique_id == f"{ALICE},{BOB}"
    destination = entry.runtime_data.destinations[FAMILY_ID].destination
    assert destination.language == "de"
    assert destination.recipients.envelope == (ALICE, BOB)


async def test_reconfigure_without_login_when_server_needs_one(
    hass: HomeAssistant, server: FakeSmtpServer, setup_email: MockConfigEntry
) -> None:
    """Clearing the user name drops the password too; this server requires a
    login, so MAIL FROM is refused and nothing changes."""
    result = await setup_email.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], account_input(server, username=None, password=None)
    )
    assert result["errors"] == {"base": "email_sender_refused"}
    assert "530" in result["description_placeholders"]["detail"]
    assert setup_email.data["username"] == USER
    assert setup_email.data["password"] == PASSWORD


async def test_unexpected_error_is_unknown(
    hass: HomeAssistant, server: FakeSmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug in the check is logged and shown as the generic error, not a crash."""

    async def broken(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(email_flow, "async_validate", broken)
    result = await _submit(hass, account_input(server))
    assert result["errors"] == {"base": "unknown"}


@pytest.mark.usefixtures("trust_server")
async def test_implicit_tls_account_delivers(
    hass: HomeAssistant, server: FakeSmtpServer
) -> None:
    """Security ssl (TLS from the first byte): created, loaded, and a mail sent
    through its notify entity arrives."""
    async with FakeSmtpServer(
        security="ssl", users={USER: PASSWORD}, certificate=server.certificate
    ) as tls:
        result = await _submit(hass, account_input(tls, security="ssl"))
        assert result["type"] is FlowResultType.CREATE_ENTRY
        entry = result["result"]
        await hass.async_block_till_done()
        result = await start_subentry_flow(hass, entry)
        result = await hass.config_entries.subentries.async_configure(
            result["flow_id"], {"to": [ALICE], "name": "Alice"}
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done()
        await hass.services.async_call(
            "notify",
            "send_message",
            {"entity_id": "notify.alice", "message": "over TLS", "title": "Hi"},
            blocking=True,
        )
        (received,) = tls.received
        assert received.rcpt_tos == (ALICE,)
        assert received.message["Subject"] == "Hi"
        assert await hass.config_entries.async_unload(entry.entry_id)
