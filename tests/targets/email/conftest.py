"""A real SMTP server per test, and senders/destinations that talk to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from custom_components.notify_bridge.targets.email import (
    EmailDestination,
    EmailSettings,
    Recipients,
    Security,
    SmtpSender,
)
from tests.fakes.smtp_server import HOSTNAME, FakeSmtpServer

SENDER = "bridge@example.org"
RECIPIENT = "alice@example.org"


def settings_for(server: FakeSmtpServer, **changes: Any) -> EmailSettings:
    """Return settings that reach `server` with its first user."""
    user, password = next(iter(server.users.items()), (None, None))
    values: dict[str, Any] = {
        "host": HOSTNAME if server.security != "none" else "127.0.0.1",
        "port": server.port,
        "security": Security(server.security),
        "sender": SENDER,
        "sender_name": "Notify Bridge",
        "username": user,
        "password": password,
    }
    values.update(changes)
    return EmailSettings(**values)


@pytest.fixture
async def server(socket_enabled: None) -> AsyncIterator[FakeSmtpServer]:
    """A STARTTLS server with AUTH on 127.0.0.1."""
    async with FakeSmtpServer() as fake:
        yield fake


@pytest.fixture
async def make_sender(
    server: FakeSmtpServer,
) -> AsyncIterator[Callable[..., SmtpSender]]:
    """Build senders for `server` (trusting its certificate); all closed at the end."""
    senders: list[SmtpSender] = []

    def build(settings: EmailSettings | None = None, **kwargs: Any) -> SmtpSender:
        if server.certificate is not None:
            kwargs.setdefault("tls_context", server.certificate.client_context())
        kwargs.setdefault("local_hostname", "client.test")
        sender = SmtpSender(settings or settings_for(server), **kwargs)
        senders.append(sender)
        return sender

    yield build
    for sender in senders:
        await sender.async_close()


def destination(sender: SmtpSender, **kwargs: Any) -> EmailDestination:
    """Return a destination mailing RECIPIENT (unless told otherwise)."""
    kwargs.setdefault("recipients", Recipients(to=(RECIPIENT,)))
    return EmailDestination(sender, destination_id="dest_mail", name="Mail", **kwargs)
