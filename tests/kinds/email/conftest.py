"""Fixtures of the e-mail target tests: a real aiosmtpd server and a real HA core."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from homeassistant.config_entries import ConfigEntryState, ConfigSubentryDataWithId
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util.ssl import client_context_no_verify
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.notify_bridge.const import DOMAIN, ENTRY_VERSION
from custom_components.notify_bridge.kinds.email import fields
from custom_components.notify_bridge.targets.email import Security
from tests.common import enable_statistics, subentry
from tests.fakes.smtp_server import HOSTNAME, FakeSmtpServer

EMAIL_ENTRY_ID = "email_entry"
SENDER = "bridge@example.org"
USER, PASSWORD = "bridge", "s3cret"
FAMILY_ID = "dest_family"
FAMILY_ENTITY = "notify.family"
ALICE = "alice@example.org"
BOB = "bob@example.org"
CAROL = "carol@example.org"


@pytest.fixture
async def server(socket_enabled: None) -> AsyncIterator[FakeSmtpServer]:
    """A STARTTLS server with AUTH (bridge / s3cret) on 127.0.0.1."""
    async with FakeSmtpServer(users={USER: PASSWORD}) as fake:
        yield fake


@pytest.fixture
def trust_server(server: FakeSmtpServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Verify TLS against the fake's self-signed certificate instead of the CA store
    (as if the user's system trusted it); verification stays on."""
    assert server.certificate is not None
    trusted = server.certificate.client_context()

    def context(security: Security, verify: bool) -> Any:
        if security is Security.NONE:
            return None
        return trusted if verify else client_context_no_verify()

    monkeypatch.setattr(fields, "tls_context", context)


def account_input(server: FakeSmtpServer, **changes: Any) -> dict[str, Any]:
    """Return the account form as a user fills it in for the fake server."""
    values: dict[str, Any] = {
        "host": HOSTNAME,
        "port": server.port,
        "security": "starttls",
        "username": USER,
        "password": PASSWORD,
        "sender": SENDER,
        "sender_name": "Notify Bridge",
        "verify_ssl": True,
    }
    values.update(changes)
    return {key: value for key, value in values.items() if value is not None}


def recipient(subentry_id: str, title: str, **data: Any) -> ConfigSubentryDataWithId:
    """Describe a recipient subentry."""
    addresses = sorted(
        address.lower() for key in ("to", "cc", "bcc") for address in data.get(key, ())
    )
    return subentry("email", subentry_id, title, data, ",".join(addresses))


@pytest.fixture
def email_recipients() -> list[ConfigSubentryDataWithId]:
    """One list: Alice and Bob, Carol in Bcc."""
    return [recipient(FAMILY_ID, "Family", to=[ALICE, BOB], bcc=[CAROL])]


@pytest.fixture
def email_options() -> dict[str, Any]:
    """Extra entry data (tests may override)."""
    return {}


@pytest.fixture
def email_entry(
    hass: HomeAssistant,
    server: FakeSmtpServer,
    email_recipients: list[ConfigSubentryDataWithId],
    email_options: dict[str, Any],
) -> MockConfigEntry:
    """The e-mail target entry for the fake server (not set up yet)."""
    data = {
        "kind": "email",
        **account_input(server),
        "media_budget_mb": 20,
        **email_options,
    }
    entry = MockConfigEntry(
        domain=DOMAIN,
        version=ENTRY_VERSION,
        title=f"{SENDER} ({HOSTNAME})",
        data=data,
        unique_id=f"{HOSTNAME}:{server.port}:{USER}",
        entry_id=EMAIL_ENTRY_ID,
        subentries_data=email_recipients,
    )
    entry.add_to_hass(hass)
    enable_statistics(hass, entry)
    return entry


@pytest.fixture
async def setup_email(
    hass: HomeAssistant, trust_server: None, email_entry: MockConfigEntry
) -> AsyncIterator[MockConfigEntry]:
    """Set up Notify Bridge with the e-mail entry; unload it (closing the sender)."""
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    yield email_entry
    if email_entry.state is ConfigEntryState.LOADED:
        assert await hass.config_entries.async_unload(email_entry.entry_id)
        await hass.async_block_till_done()
