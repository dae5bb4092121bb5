"""Credential checks of the webhook ingress: bearer tokens, HMAC signatures, timestamps.

Why a module of its own: authentication is the part of the ingress an attacker
probes, so it is kept in one small place to read and review. The checks that need no
body (`check_configured`, `check_credentials`) run before a single body byte is
read; `verified_key` checks the HMAC over the body in constant time afterwards.
Every refusal raises `_Rejected` with an UNAUTHORIZED or NOT_CONFIGURED outcome.
"""

from __future__ import annotations

from collections.abc import Mapping
import hashlib
import hmac
import re

from .ingress_common import AuthConfig, AuthMode, Outcome, _PendingSignature, _Rejected
from .replay import content_key

_HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


def check_configured(auth: AuthConfig) -> None:
    """Refuse every request of an authenticated mode that has no secret yet."""
    if auth.mode is not AuthMode.NONE and not auth.secret:
        raise _Rejected(Outcome.NOT_CONFIGURED, "no secret configured")


def check_credentials(
    headers: Mapping[str, str], auth: AuthConfig, now: float
) -> _PendingSignature | None:
    """Check every credential that does not need the body.

    Returns the signature still to be verified against the body, if any.
    """
    if auth.mode is AuthMode.NONE:
        return None
    if auth.mode is AuthMode.BEARER:
        _check_bearer(headers, auth)
        return None
    digest = _parse_signature(headers.get(auth.signature_header), auth)
    timestamp = _check_timestamp(headers, auth, now)
    return _PendingSignature(digest, timestamp)


def _check_bearer(headers: Mapping[str, str], auth: AuthConfig) -> None:
    presented = (headers.get(auth.token_header) or "").strip()
    if auth.token_header.lower() == "authorization":
        scheme, _, presented = presented.partition(" ")
        if scheme.lower() != "bearer":
            presented = ""
    presented = presented.strip()
    if not presented:
        raise _Rejected(Outcome.UNAUTHORIZED, "token missing")
    expected = (auth.secret or "").encode()
    # surrogateescape: a header with undecodable bytes is a wrong token, not a crash.
    if not hmac.compare_digest(presented.encode("utf-8", "surrogateescape"), expected):
        raise _Rejected(Outcome.UNAUTHORIZED, "token invalid")


def _parse_signature(value: str | None, auth: AuthConfig) -> bytes:
    """Return the digest a signature header carries; malformed is refused now."""
    text = (value or "").strip()
    if not text:
        raise _Rejected(Outcome.UNAUTHORIZED, "signature missing")
    prefix = auth.signature_prefix
    if prefix and text.lower().startswith(prefix.lower()):
        text = text[len(prefix) :]
    elif auth.require_signature_prefix:
        raise _Rejected(Outcome.UNAUTHORIZED, "signature malformed")
    if not _HEX_SHA256.fullmatch(text):
        raise _Rejected(Outcome.UNAUTHORIZED, "signature malformed")
    return bytes.fromhex(text)


def _check_timestamp(
    headers: Mapping[str, str], auth: AuthConfig, now: float
) -> str | None:
    if not auth.timestamp_header:
        return None
    value = (headers.get(auth.timestamp_header) or "").strip()
    try:
        sent = float(value)
    except ValueError:
        raise _Rejected(Outcome.UNAUTHORIZED, "timestamp missing or invalid") from None
    if not abs(now - sent) <= auth.timestamp_tolerance:
        # `not <=` also refuses NaN, which compares false with everything.
        raise _Rejected(Outcome.UNAUTHORIZED, "timestamp outside the allowed window")
    return value


def _signed_body(
    auth: AuthConfig, body: bytes, form: dict[str, list[str]] | None
) -> bytes:
    """Return what the sender signed: the raw body or the configured form field."""
    if form is None or not auth.signed_form_field:
        return body
    values = form.get(auth.signed_form_field)
    if not values:
        raise _Rejected(Outcome.UNAUTHORIZED, "signed form field missing")
    return values[-1].encode("utf-8")


def verified_key(
    auth: AuthConfig,
    pending: _PendingSignature | None,
    body: bytes,
    form: dict[str, list[str]] | None,
) -> str | None:
    """Verify the signature; return the replay key of what it covers (None: unsigned)."""
    if pending is None:
        return None
    material = _signed_material(auth, pending, _signed_body(auth, body, form))
    _verify_signature(auth, pending, material)
    return content_key(material)


def _signed_material(
    auth: AuthConfig, pending: _PendingSignature, signed_body: bytes
) -> bytes:
    """Return exactly what the signature covers: `<timestamp>.<body>` or the body."""
    if pending.timestamp is not None and auth.timestamp_signed:
        return pending.timestamp.encode() + b"." + signed_body
    return signed_body


def _verify_signature(
    auth: AuthConfig, pending: _PendingSignature, material: bytes
) -> None:
    expected = hmac.new((auth.secret or "").encode(), material, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, pending.digest):
        raise _Rejected(Outcome.UNAUTHORIZED, "signature invalid")


def auth_headers(auth: AuthConfig) -> tuple[str, ...]:
    """Return the configured credential header names, redacted wherever kept."""
    return tuple(name for name in (auth.token_header, auth.signature_header) if name)
