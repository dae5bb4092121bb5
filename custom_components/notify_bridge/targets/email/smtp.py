"""One SMTP transaction on an aiosmtplib connection, and what its failures mean.

Opening a connection goes through named phases (connect, TLS, login) so a failure
says which step broke; a transaction tracks whether the message body has been handed
to the server, because after that a lost connection or a missing reply leaves the
outcome unknown: the server may have accepted the message. Such a send is reported as
unconfirmed and never repeated, so nobody gets a mail twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
import ipaddress
import re
import ssl

import aiosmtplib
from aiosmtplib import (
    SMTPAuthenticationError,
    SMTPConnectError,
    SMTPDataError,
    SMTPException,
    SMTPNotSupported,
    SMTPRecipientRefused,
    SMTPRecipientsRefused,
    SMTPResponseException,
    SMTPServerDisconnected,
    SMTPTimeoutError,
)

from ...net import is_public_address
from ...pipeline.models import DeliveryError
from .settings import EmailSettings, Security

# Replies that mean the login itself was refused (RFC 4954): ask for a new password.
AUTH_REFUSED_CODES = frozenset({530, 534, 535})
# The reply that says the server is closing the connection.
CLOSING = 421
# RFC 5321 4.5.3.2.6: wait this long for the reply to the end of the message body.
DATA_END_TIMEOUT = 600.0
_LEADING_DOT = re.compile(rb"(?m)^\.")


class Phase(IntEnum):
    """How far a connection or transaction got."""

    CONNECT = 1
    TLS = 2
    LOGIN = 3
    ENVELOPE = 4
    # The whole message body was written: from here a silence means "maybe sent".
    BODY_SENT = 5


class EmailAuthError(DeliveryError):
    """The server refused the login: only a new password helps (reauth)."""

    def __init__(self, message: str) -> None:
        """A permanent delivery error: retrying the same password cannot help."""
        super().__init__(message, permanent=True)


class MessageTooLargeError(DeliveryError):
    """The server announced (EHLO SIZE) a limit this message exceeds; nothing sent."""

    def __init__(self, size: int, limit: int) -> None:
        """Keep both sizes: the sender may drop attachments and try again."""
        super().__init__(
            f"message of {size} bytes exceeds the server's limit of {limit}",
            permanent=True,
        )
        self.size = size
        self.limit = limit


class UnconfirmedError(Exception):
    """The body was sent but no reply came: the server may have accepted it."""


class InsecureHostError(SMTPException):
    """Security `none` to an address on the public internet."""


@dataclass(slots=True)
class Progress:
    """The phase a connection or transaction reached (read after a failure)."""

    phase: Phase = Phase.CONNECT


@dataclass(frozen=True, slots=True)
class OutgoingMail:
    """A serialized message and its envelope."""

    sender: str
    recipients: tuple[str, ...]
    # The message as sent after DATA: dot-stuffed and ending in CRLF "." CRLF.
    payload: bytes = field(repr=False)
    # The message size in octets (RFC 1870 SIZE).
    size: int

    @classmethod
    def from_bytes(
        cls, sender: str, recipients: tuple[str, ...], data: bytes
    ) -> OutgoingMail:
        """Prepare `data` (CRLF line ends) for the DATA phase."""
        if not data.endswith(b"\r\n"):
            data += b"\r\n"
        payload = _LEADING_DOT.sub(b"..", data) + b".\r\n"
        return cls(sender, recipients, payload, len(data))


@dataclass(frozen=True, slots=True)
class SendReport:
    """What the server accepted; refused recipients with the server's reply."""

    accepted: tuple[str, ...]
    refused: dict[str, tuple[int, str]]
    response: str


def make_client(
    settings: EmailSettings,
    *,
    tls_context: ssl.SSLContext | None,
    timeout: float,
    local_hostname: str | None,
) -> aiosmtplib.SMTP:
    """Return an unconnected client for the settings (TLS by our phases only)."""
    return aiosmtplib.SMTP(
        hostname=settings.host,
        port=settings.port,
        use_tls=settings.security is Security.SSL,
        start_tls=False,
        tls_context=tls_context,
        timeout=timeout,
        local_hostname=local_hostname,
    )


async def async_open(
    client: aiosmtplib.SMTP,
    settings: EmailSettings,
    progress: Progress,
    tls_context: ssl.SSLContext | None,
) -> None:
    """Connect, upgrade and log in; `progress` tells where a failure happened."""
    progress.phase = Phase.TLS if settings.security is Security.SSL else Phase.CONNECT
    try:
        await client.connect()
        progress.phase = Phase.CONNECT
        if settings.security is Security.NONE:
            _check_plain_peer(client)
        if settings.security is Security.STARTTLS:
            progress.phase = Phase.TLS
            await client.starttls(tls_context=tls_context)
        if settings.username:
            progress.phase = Phase.LOGIN
            await client.login(settings.username, settings.password or "")
    except BaseException:
        client.close()
        raise
    progress.phase = Phase.ENVELOPE


def _check_plain_peer(client: aiosmtplib.SMTP) -> None:
    """Refuse to talk unencrypted to a public address (whatever the name said)."""
    peer = client.get_transport_info("peername")
    if not peer:
        return
    address = ipaddress.ip_address(str(peer[0]).split("%", 1)[0])
    if is_public_address(address):
        raise InsecureHostError(
            f"security 'none' is only allowed on the local network, not {address}"
        )


async def async_transaction(
    client: aiosmtplib.SMTP,
    mail: OutgoingMail,
    progress: Progress,
    *,
    command_timeout: float,
    data_timeout: float = DATA_END_TIMEOUT,
) -> SendReport:
    """MAIL, RCPT for each recipient, DATA; returns who was accepted."""
    timeout = command_timeout
    progress.phase = Phase.ENVELOPE
    limit = size_limit(client)
    if limit is not None and mail.size > limit:
        raise MessageTooLargeError(mail.size, limit)
    options = [f"SIZE={mail.size}"] if client.supports_extension("size") else []
    await client.mail(mail.sender, options=options, timeout=timeout)
    accepted: list[str] = []
    refused: dict[str, tuple[int, str]] = {}
    for recipient in mail.recipients:
        try:
            await client.rcpt(recipient, timeout=timeout)
        except SMTPRecipientRefused as err:
            refused[recipient] = (err.code, err.message)
        else:
            accepted.append(recipient)
    if not accepted:
        raise SMTPRecipientsRefused(
            [SMTPRecipientRefused(c, m, r) for r, (c, m) in refused.items()]
        )
    reply = await client.execute_command(b"DATA", timeout=timeout)
    if reply.code != 354:
        raise SMTPDataError(reply.code, reply.message)
    # aiosmtplib's data() hides whether the failure came before or after the body
    # went out; written here so the phase is known exactly.
    protocol = client.protocol
    if protocol is None:
        raise SMTPServerDisconnected("Connection lost")
    protocol.write(mail.payload)
    progress.phase = Phase.BODY_SENT
    reply = await protocol.read_response(timeout=max(timeout, data_timeout))
    if reply.code != 250:
        # An explicit refusal: the message was not accepted, whatever the phase.
        raise SMTPDataError(reply.code, reply.message)
    return SendReport(tuple(accepted), refused, reply.message)


def size_limit(client: aiosmtplib.SMTP) -> int | None:
    """Return the message size limit the server announced (RFC 1870), if any."""
    try:
        limit = int(client.esmtp_extensions.get("size", "0").split()[0] or 0)
    except ValueError, IndexError:
        return None
    return limit or None  # "SIZE 0" (or no number) means no fixed limit


def is_connection_problem(err: BaseException) -> bool:
    """Return whether the connection, not the message, failed."""
    if isinstance(err, SMTPResponseException):
        return err.code == CLOSING
    return isinstance(err, SMTPServerDisconnected | SMTPTimeoutError | OSError)


def _reply(err: SMTPResponseException) -> str:
    return f"{err.code} {err.message}".strip()


def _tls_cause(err: BaseException) -> ssl.SSLError | None:
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return seen
        seen = seen.__cause__
    return None


def classify(err: BaseException, phase: Phase) -> DeliveryError | UnconfirmedError:
    """Return what a failure means: auth (reauth), transient (retry, outbox),
    permanent, or unconfirmed (body sent, outcome unknown: never resent)."""
    if isinstance(err, DeliveryError):
        return err  # decided before anything was sent (MessageTooLargeError)
    if isinstance(err, SMTPResponseException | SMTPRecipientsRefused):
        return _refusal(err, phase)
    if phase is Phase.BODY_SENT:
        return UnconfirmedError(
            "unconfirmed: the connection failed after the message was sent "
            f"({err or type(err).__name__}); not resent, so it is never received twice"
        )
    return _connection_failure(err)


def _refusal(
    err: SMTPResponseException | SMTPRecipientsRefused, phase: Phase
) -> DeliveryError:
    """The server answered no: 5xx is permanent, 4xx may work later."""
    if isinstance(err, SMTPRecipientsRefused):
        names = ", ".join(f"{r.recipient} ({_reply(r)})" for r in err.recipients)
        return DeliveryError(
            f"every recipient refused: {names}",
            permanent=all(r.code >= 500 for r in err.recipients),
        )
    if isinstance(err, SMTPAuthenticationError) and (
        err.code in AUTH_REFUSED_CODES or err.code >= 500
    ):
        return EmailAuthError(f"login refused: {_reply(err)}")
    what = "sender refused" if phase is Phase.ENVELOPE else "server refused"
    if isinstance(err, SMTPDataError):
        what = "message refused"
    return DeliveryError(f"{what}: {_reply(err)}", permanent=err.code >= 500)


def _connection_failure(err: BaseException) -> DeliveryError:
    """No answer: the network or TLS failed (transient), or a setting is wrong."""
    if (tls := _tls_cause(err)) is not None:
        return DeliveryError(f"TLS failed: {tls.reason or tls}")
    if isinstance(err, InsecureHostError | SMTPNotSupported):
        return DeliveryError(str(err), permanent=True)
    if isinstance(err, TimeoutError):
        return DeliveryError(f"timed out: {err}")
    if isinstance(err, SMTPConnectError | OSError):
        return DeliveryError(f"cannot connect: {err}")
    # STARTTLS or AUTH not offered, no usable login method: configuration.
    return DeliveryError(str(err), permanent=isinstance(err, SMTPException))
