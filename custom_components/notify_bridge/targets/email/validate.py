"""Check settings before an entry exists: connect, upgrade, log in, MAIL FROM.

Returns a typed failure the config flow maps to a translated error key (the `code`)
with the `reason` as a placeholder; None when the server accepts everything.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from enum import StrEnum
import socket
import ssl

import aiosmtplib
from aiosmtplib import (
    SMTPAuthenticationError,
    SMTPConnectError,
    SMTPException,
    SMTPResponseException,
    SMTPSenderRefused,
)

from ...net import Resolver, default_resolver
from .settings import EmailSettings, Security, make_tls_context, plain_host_allowed
from .smtp import InsecureHostError, Phase, Progress, async_open, make_client

# Seconds for each step of a check (a config flow should answer quickly).
VALIDATE_TIMEOUT = 15.0


class ValidationCode(StrEnum):
    """What went wrong; these are the config flow's error keys."""

    INVALID_AUTH = "invalid_auth"
    AUTH_UNSUPPORTED = "auth_unsupported"
    TLS_FAILED = "tls_failed"
    CANNOT_CONNECT = "cannot_connect"
    SENDER_REFUSED = "sender_refused"
    INSECURE_HOST = "insecure_host"


class FailureReason(StrEnum):
    """More detail for cannot_connect and tls_failed."""

    TIMEOUT = "timeout"
    REFUSED = "refused"
    DNS = "dns"
    CERTIFICATE = "certificate"
    HANDSHAKE = "handshake"
    STARTTLS_UNSUPPORTED = "starttls_unsupported"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class ValidationFailure:
    """Why the settings do not work; `detail` is the server's or OS's words."""

    code: ValidationCode
    reason: FailureReason | None = None
    detail: str = ""


async def async_validate(
    settings: EmailSettings,
    *,
    tls_context: ssl.SSLContext | None = None,
    step_timeout: float = VALIDATE_TIMEOUT,
    resolver: Resolver = default_resolver,
    local_hostname: str | None = None,
) -> ValidationFailure | None:
    """Connect, upgrade, log in and ask MAIL FROM:<sender>; then RSET and QUIT."""
    if settings.security is Security.NONE:
        try:
            addresses = await resolver(settings.host, settings.port)
        except OSError as err:
            return ValidationFailure(
                ValidationCode.CANNOT_CONNECT, FailureReason.DNS, str(err)
            )
        if not plain_host_allowed(settings.host, addresses):
            return ValidationFailure(ValidationCode.INSECURE_HOST, detail=settings.host)
    elif tls_context is None:
        tls_context = await asyncio.get_running_loop().run_in_executor(
            None, make_tls_context, settings.verify_tls
        )
    client = make_client(
        settings,
        tls_context=tls_context,
        timeout=step_timeout,
        local_hostname=local_hostname,
    )
    progress = Progress()
    try:
        await async_open(client, settings, progress, tls_context)
        await client.mail(settings.sender)
    except SMTPSenderRefused as err:
        return ValidationFailure(ValidationCode.SENDER_REFUSED, detail=_words(err))
    except (SMTPException, OSError) as err:
        return failure_for(err, progress.phase)
    finally:
        await _finish(client)
    return None


async def _finish(client: aiosmtplib.SMTP) -> None:
    if client.is_connected:
        try:
            await client.rset()
            await client.quit()
        except SMTPException, OSError:
            pass
    client.close()


def _words(err: BaseException) -> str:
    if isinstance(err, SMTPResponseException):
        return f"{err.code} {err.message}".strip()
    return str(err) or type(err).__name__


def _cause_chain(err: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    seen: BaseException | None = err
    while seen is not None and len(chain) < 5:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    return chain


def failure_for(err: BaseException, phase: Phase) -> ValidationFailure:
    """Map a failure to open a session to the flow's error."""
    detail = _words(err)
    if isinstance(err, InsecureHostError):
        return ValidationFailure(ValidationCode.INSECURE_HOST, detail=detail)
    if isinstance(err, SMTPAuthenticationError) and err.code >= 500:
        return ValidationFailure(ValidationCode.INVALID_AUTH, detail=detail)
    chain = _cause_chain(err)
    for kind, code, reason in _BY_CAUSE:
        if any(isinstance(e, kind) for e in chain):
            return ValidationFailure(code, reason, detail)
    if not isinstance(err, OSError):
        # aiosmtplib's SMTPException: STARTTLS or AUTH not offered.
        if phase is Phase.TLS and not isinstance(err, SMTPConnectError):
            return ValidationFailure(
                ValidationCode.TLS_FAILED, FailureReason.STARTTLS_UNSUPPORTED, detail
            )
        if phase is Phase.LOGIN:
            return ValidationFailure(ValidationCode.AUTH_UNSUPPORTED, detail=detail)
    return ValidationFailure(ValidationCode.CANNOT_CONNECT, FailureReason.OTHER, detail)


# Causes in the exception chain, first match wins (a certificate error is an SSLError).
_BY_CAUSE: tuple[tuple[type[BaseException], ValidationCode, FailureReason], ...] = (
    (
        ssl.SSLCertVerificationError,
        ValidationCode.TLS_FAILED,
        FailureReason.CERTIFICATE,
    ),
    (ssl.SSLError, ValidationCode.TLS_FAILED, FailureReason.HANDSHAKE),
    (TimeoutError, ValidationCode.CANNOT_CONNECT, FailureReason.TIMEOUT),
    (socket.gaierror, ValidationCode.CANNOT_CONNECT, FailureReason.DNS),
    (ConnectionRefusedError, ValidationCode.CANNOT_CONNECT, FailureReason.REFUSED),
)
