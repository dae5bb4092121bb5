"""A real aiosmtpd SMTP server on 127.0.0.1 with AUTH, STARTTLS or implicit TLS,
a self-signed certificate made on the spot, and scripted faults.

It runs on the test's own event loop (no thread), so a test can change its script
between messages and read what it stored synchronously. Every stored message is
parsed with the `email` package, as a mail client would.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from functools import cached_property
import ipaddress
from pathlib import Path
import ssl
import tempfile
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

HOSTNAME = "localhost"
SERVER_NAME = "fake-smtp.test"


@dataclass(frozen=True, slots=True)
class Certificate:
    """A self-signed certificate for localhost/127.0.0.1 and its key (PEM)."""

    cert_pem: bytes
    key_pem: bytes

    def server_context(self) -> ssl.SSLContext:
        """Return the server side context (loaded from temporary files)."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        with tempfile.TemporaryDirectory() as folder:
            cert, key = Path(folder, "cert.pem"), Path(folder, "key.pem")
            cert.write_bytes(self.cert_pem)
            key.write_bytes(self.key_pem)
            context.load_cert_chain(cert, key)
        return context

    def client_context(self) -> ssl.SSLContext:
        """Return a verifying client context that trusts only this certificate."""
        return ssl.create_default_context(cadata=self.cert_pem.decode())


def make_certificate(hostname: str = HOSTNAME, *, rsa_bits: int = 0) -> Certificate:
    """Generate a fresh self-signed certificate, valid for a day: EC P-256 (fast to
    make, for tests), or RSA of `rsa_bits` (what most mail servers present)."""
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey = (
        rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits)
        if rsa_bits
        else ec.generate_private_key(ec.SECP256R1())
    )
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName(hostname),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return Certificate(
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


@dataclass(frozen=True)
class Received:
    """One message the server accepted."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    mail_options: tuple[str, ...] = ()

    @cached_property
    def message(self) -> EmailMessage:
        """Return the message parsed as a mail client would (on first use: the
        parse is the test's work, not the server's, and stays out of timings)."""
        return message_from_bytes(self.data, policy=policy.default)  # type: ignore[return-value]


@dataclass(slots=True)
class Script:
    """Faults to play, each entry used once, in order."""

    # Replies to MAIL FROM instead of 250 ("421 ..." also drops the connection).
    mail: deque[str] = field(default_factory=deque)
    # Replies after the message body instead of 250 (the message is not stored).
    data_reply: deque[str] = field(default_factory=deque)
    # Store the message, then drop the connection without replying.
    drop_after_data: int = 0
    # Drop the connection when DATA arrives, before 354 (nothing was accepted).
    drop_at_data_command: int = 0
    # Recipients always refused, with this reply.
    refuse_rcpt: dict[str, str] = field(default_factory=dict)
    # Seconds each message takes to be confirmed after the body (concurrency,
    # reply timeouts).
    data_delay: float = 0.0
    # Seconds before MAIL FROM is answered (a stalled server).
    mail_delay: float = 0.0


class _FakeSMTP(SMTP):
    """aiosmtpd's server with connection bookkeeping and scripted drops."""

    def __init__(self, fake: FakeSmtpServer, **kwargs: Any) -> None:
        self.fake = fake
        super().__init__(fake, **kwargs)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.fake.open_sessions.add(self)
        self.fake.max_open = max(self.fake.max_open, len(self.fake.open_sessions))
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        self.fake.open_sessions.discard(self)
        super().connection_lost(error)

    async def smtp_DATA(self, arg: str) -> None:
        if self.fake.script.drop_at_data_command:
            self.fake.script.drop_at_data_command -= 1
            self.drop()
            return
        await super().smtp_DATA(arg)

    def drop(self) -> None:
        """Cut the connection without a word (a crash, a network failure)."""
        if self.transport is not None:
            self.transport.abort()


class FakeSmtpServer:
    """Async context manager: an SMTP server on 127.0.0.1 with a random port."""

    def __init__(
        self,
        *,
        security: str = "starttls",
        users: dict[str, str] | None = None,
        certificate: Certificate | None = None,
        auth_require_tls: bool = True,
        data_size_limit: int = 32 * 1024 * 1024,
        port: int = 0,
    ) -> None:
        """`security`: starttls, ssl or none; `users`: logins AUTH accepts;
        `data_size_limit`: the SIZE announced in EHLO (and enforced); `port`: 0 for
        a free one, or the port of a server that was stopped (it comes back)."""
        self.data_size_limit = data_size_limit
        self.security = security
        self.users = {"bridge": "s3cret"} if users is None else users
        self.certificate = certificate or (
            make_certificate() if security != "none" else None
        )
        self.auth_require_tls = auth_require_tls
        self.script = Script()
        self.received: list[Received] = []
        self.auth_attempts: list[tuple[str, bool]] = []
        self.sessions_started = 0
        self.open_sessions: set[_FakeSMTP] = set()
        self.max_open = 0
        self.in_data = 0
        self.max_in_data = 0
        self.port = port
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> FakeSmtpServer:
        """Listen on 127.0.0.1."""
        tls = self.certificate.server_context() if self.certificate else None
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: self._factory(tls),
            "127.0.0.1",
            self.port,
            ssl=tls if self.security == "ssl" else None,
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Stop listening and cut every open connection."""
        self.drop_all()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def _factory(self, tls: ssl.SSLContext | None) -> _FakeSMTP:
        self.sessions_started += 1
        return _FakeSMTP(
            self,
            hostname=SERVER_NAME,
            data_size_limit=self.data_size_limit,
            tls_context=tls if self.security == "starttls" else None,
            require_starttls=self.security == "starttls",
            authenticator=self._authenticate if self.users else None,
            # aiosmtpd only knows STARTTLS; with implicit TLS the link is encrypted.
            auth_require_tls=self.auth_require_tls and self.security == "starttls",
            auth_required=bool(self.users),
        )

    def drop_all(self) -> None:
        """Cut every open connection (the server restarted or timed them out)."""
        for session in list(self.open_sessions):
            session.drop()

    def messages(self) -> list[EmailMessage]:
        """Return the parsed messages, oldest first."""
        return [item.message for item in self.received]

    # ---- aiosmtpd hooks -----------------------------------------------------------

    def _authenticate(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        mechanism: str,
        auth_data: Any,
    ) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        login = auth_data.login.decode()
        ok = self.users.get(login) == auth_data.password.decode()
        self.auth_attempts.append((mechanism, ok))
        # handled=False: aiosmtpd answers (235, or 535 5.7.8 on failure).
        return AuthResult(success=ok, handled=False)

    async def handle_MAIL(
        self,
        server: _FakeSMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        if self.script.mail_delay:
            await asyncio.sleep(self.script.mail_delay)
        if self.script.mail:
            reply = self.script.mail.popleft()
            if reply.startswith("421"):
                await server.push(reply)
                server.drop()
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self,
        server: _FakeSMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address in self.script.refuse_rcpt:
            return self.script.refuse_rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(
        self, server: _FakeSMTP, session: Session, envelope: Envelope
    ) -> str:
        if self.script.data_reply:
            return self.script.data_reply.popleft()
        # Stored first, then (slowly) confirmed: like a real server that has queued
        # the message before it answers.
        data = bytes(envelope.original_content or b"")
        self.received.append(
            Received(
                mail_from=str(envelope.mail_from),
                rcpt_tos=tuple(envelope.rcpt_tos),
                data=data,
                mail_options=tuple(envelope.mail_options),
            )
        )
        self.in_data += 1
        self.max_in_data = max(self.max_in_data, self.in_data)
        try:
            if self.script.data_delay:
                await asyncio.sleep(self.script.data_delay)
        finally:
            self.in_data -= 1
        if self.script.drop_after_data:
            # Accepted and stored, but the client never hears the 250.
            self.script.drop_after_data -= 1
            server.drop()
        return "250 2.0.0 queued"
