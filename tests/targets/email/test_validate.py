"""The config flow's check against real servers: every failure has its own code."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import socket

import pytest

from custom_components.notify_bridge.targets.email import (
    FailureReason,
    Security,
    ValidationCode,
    ValidationFailure,
    async_validate,
)
from tests.fakes.smtp_server import FakeSmtpServer

from .conftest import settings_for

pytestmark = pytest.mark.usefixtures("socket_enabled")


async def test_good_settings_pass_and_leave_nothing_behind(
    server: FakeSmtpServer,
) -> None:
    """Connect, STARTTLS, AUTH, MAIL FROM: None; no message, session closed."""
    context = server.certificate.client_context()  # type: ignore[union-attr]
    assert await async_validate(settings_for(server), tls_context=context) is None
    await asyncio.sleep(0.05)
    assert server.received == [] and server.open_sessions == set()
    assert [ok for _, ok in server.auth_attempts] == [True]


async def test_wrong_password_is_invalid_auth(server: FakeSmtpServer) -> None:
    """535 from the server."""
    failure = await async_validate(
        settings_for(server, password="nope"),
        tls_context=server.certificate.client_context(),  # type: ignore[union-attr]
    )
    assert failure is not None and failure.code is ValidationCode.INVALID_AUTH
    assert "535" in failure.detail


async def test_self_signed_certificate_is_tls_failed(server: FakeSmtpServer) -> None:
    """The system CA store does not know the server's certificate."""
    failure = await async_validate(settings_for(server))
    assert failure == ValidationFailure(
        ValidationCode.TLS_FAILED, FailureReason.CERTIFICATE, failure.detail
    )
    assert server.auth_attempts == []


async def test_starttls_not_offered_is_tls_failed() -> None:
    """A server without STARTTLS for security starttls: never send the password."""
    async with FakeSmtpServer(security="none", auth_require_tls=False) as plain:
        failure = await async_validate(settings_for(plain, security=Security.STARTTLS))
        assert failure is not None
        assert (failure.code, failure.reason) == (
            ValidationCode.TLS_FAILED,
            FailureReason.STARTTLS_UNSUPPORTED,
        )
        assert plain.auth_attempts == []


async def test_sender_refused(server: FakeSmtpServer) -> None:
    """MAIL FROM refused: the account may not send as that address."""
    server.script.mail.append("553 5.7.1 sender address not owned by user")
    failure = await async_validate(
        settings_for(server),
        tls_context=server.certificate.client_context(),  # type: ignore[union-attr]
    )
    assert failure is not None and failure.code is ValidationCode.SENDER_REFUSED
    assert "553" in failure.detail


async def test_nothing_listening_is_cannot_connect_refused() -> None:
    """A closed port."""
    async with FakeSmtpServer() as gone:
        settings = settings_for(gone)
    failure = await async_validate(
        settings, tls_context=gone.certificate.client_context()
    )  # type: ignore[union-attr]
    assert failure is not None
    assert (failure.code, failure.reason) == (
        ValidationCode.CANNOT_CONNECT,
        FailureReason.REFUSED,
    )


@pytest.fixture
async def silent_port() -> AsyncIterator[int]:
    """A TCP server that accepts and never greets."""

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.close()

    silent = await asyncio.start_server(hold, "127.0.0.1", 0)
    yield silent.sockets[0].getsockname()[1]
    silent.close()


async def test_no_greeting_is_cannot_connect_timeout(
    server: FakeSmtpServer, silent_port: int
) -> None:
    """A host that accepts and says nothing times out within the step budget."""
    failure = await async_validate(
        settings_for(server, port=silent_port),
        tls_context=server.certificate.client_context(),  # type: ignore[union-attr]
        step_timeout=0.2,
    )
    assert failure is not None
    assert (failure.code, failure.reason) == (
        ValidationCode.CANNOT_CONNECT,
        FailureReason.TIMEOUT,
    )


async def test_unknown_host_is_cannot_connect_dns() -> None:
    """The name does not resolve (resolver answer, no network needed)."""

    async def no_such_host(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    async with FakeSmtpServer(security="none", auth_require_tls=False) as plain:
        failure = await async_validate(
            settings_for(plain, host="mail.nowhere.test"), resolver=no_such_host
        )
    assert failure is not None
    assert (failure.code, failure.reason) == (
        ValidationCode.CANNOT_CONNECT,
        FailureReason.DNS,
    )


async def test_plaintext_to_a_public_host_is_refused_before_connecting() -> None:
    """Security none only on the LAN: a public address is never contacted."""

    async def public(host: str, port: int) -> list[str]:
        return ["93.184.216.34"]

    async with FakeSmtpServer(security="none", auth_require_tls=False) as plain:
        failure = await async_validate(
            settings_for(plain, host="smtp.example.com"), resolver=public
        )
        assert failure is not None and failure.code is ValidationCode.INSECURE_HOST
        assert plain.sessions_started == 0
        assert await async_validate(settings_for(plain)) is None
