"""Shared ingress of every webhook: authenticate first, read a bounded body, verify, parse.

Why this order: a request without valid credentials must cost no body read, so every
check that does not need the body (method, content type, configured secret, bearer
token, signature header shape, timestamp window) runs before a single body byte is
read; the body is then read in chunks up to a bound, the HMAC over it is verified in
constant time, and only then is it parsed and handed off. A replay is recognized by
its delivery id and by a digest of what the signature covered (`replay.py`), so a
captured delivery re-sent under a new id header is still one delivery.

Home Assistant's webhook layer answers 200 when a handler raises, which would tell a
sender that a broken delivery succeeded; `async_receive` therefore never raises and
returns an `IngressResult` carrying a real status code instead.

Nothing here imports Home Assistant: the glue registers a webhook, calls
`async_receive` with the aiohttp request it is given and returns
`result.to_response()`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
import hashlib
import hmac
from http import HTTPStatus
import json
import logging
import re
import time
from typing import Any, Final, Protocol
from urllib.parse import parse_qs

from aiohttp import ClientPayloadError, web

from ..const import SECRET_FIELDS
from ..pipeline.models import freeze
from .replay import (  # noqa: F401 - re-exported: the guard's historic home
    MAX_REPLAY_ENTRIES,
    REPLAY_WINDOW_SECONDS,
    ReplayGuard,
    content_key,
    payload_key,
)

_LOGGER = logging.getLogger(__name__)

# --- Limits and defaults of every webhook, in one place -------------------------------
# Largest body read (bytes); a bigger Content-Length is refused without reading.
MAX_BODY_BYTES: Final = 1024 * 1024
# Bodies are read in chunks of this size so a chunked upload stops at the bound.
READ_CHUNK_BYTES: Final = 64 * 1024
# An authenticated sender that trickles its body is cut off after this (seconds).
BODY_READ_TIMEOUT: Final = 30.0
# A signed timestamp may be this far in the past or future (seconds).
TIMESTAMP_TOLERANCE_SECONDS: Final = 5 * 60
# Inbound X-Request-Id is cut to this length after normalization.
MAX_REQUEST_ID_LENGTH: Final = 64
# Delivery ids (replay keys) are cut to this length.
MAX_DELIVERY_ID_LENGTH: Final = 128
# Form bodies with more fields than this are refused (parse cost is bounded).
MAX_FORM_FIELDS: Final = 100
# Parsed payloads nested deeper than this are refused (templates walk them).
MAX_PAYLOAD_DEPTH: Final = 64
# Kept header values are cut to this length before they are stored.
MAX_HEADER_VALUE_LENGTH: Final = 256
# Shortest secret or token a flow accepts for bearer and HMAC modes.
MIN_SECRET_LENGTH: Final = 16

REDACTED: Final = "**REDACTED**"
SHA256_PREFIX: Final = "sha256="
REQUEST_ID_HEADER: Final = "X-Request-Id"

CONTENT_TYPE_JSON: Final = "application/json"
CONTENT_TYPE_FORM: Final = "application/x-www-form-urlencoded"

# Headers kept (lowercase) for bus events, diagnostics and source parsers.
DEFAULT_HEADER_ALLOWLIST: Final = frozenset(
    {
        "content-length",
        "content-type",
        "idempotency-key",
        "user-agent",
        "x-request-id",
        "x-gitea-delivery",
        "x-gitea-event",
        "x-gitea-event-type",
        "x-gitea-hook-installation-target-type",
        "x-gogs-delivery",
        "x-gogs-event",
        "x-gogs-event-type",
        "x-github-delivery",
        "x-github-event",
    }
)
# Header names whose values are credentials, whatever the allowlist says.
SENSITIVE_HEADERS: Final = frozenset(
    {
        "authorization",
        "cookie",
        "proxy-authorization",
        "set-cookie",
        "x-api-key",
        "x-auth-token",
        "x-gitea-signature",
        "x-gitlab-token",
        "x-gogs-signature",
        "x-hub-signature",
        "x-hub-signature-256",
    }
)
# A header or payload key containing one of these is treated as a secret too.
_SENSITIVE_FRAGMENTS: Final = (
    "password",
    "passwd",
    "secret",
    "signature",
    "token",
    "api_key",
    "api-key",
    "apikey",
    "authorization",
    "cookie",
)
_ID_DISALLOWED = re.compile(r"[^A-Za-z0-9._-]")
_HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


class AuthMode(StrEnum):
    """How a webhook sender proves who it is."""

    NONE = "none"
    BEARER = "bearer"
    HMAC_SHA256 = "hmac_sha256"


class Outcome(StrEnum):
    """What became of one request; each maps to one HTTP status."""

    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    UNAUTHORIZED = "unauthorized"
    NOT_CONFIGURED = "not_configured"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    TOO_LARGE = "too_large"
    TIMEOUT = "timeout"
    BAD_REQUEST = "bad_request"
    ERROR = "error"


_STATUS: Final = {
    Outcome.ACCEPTED: HTTPStatus.ACCEPTED,
    # A replay is acknowledged so the sender stops retrying; nothing is dispatched.
    Outcome.DUPLICATE: HTTPStatus.OK,
    Outcome.UNAUTHORIZED: HTTPStatus.UNAUTHORIZED,
    # No secret configured: no credential can be valid, so the answer is the same.
    Outcome.NOT_CONFIGURED: HTTPStatus.UNAUTHORIZED,
    Outcome.METHOD_NOT_ALLOWED: HTTPStatus.METHOD_NOT_ALLOWED,
    Outcome.UNSUPPORTED_MEDIA_TYPE: HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
    Outcome.TOO_LARGE: HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    Outcome.TIMEOUT: HTTPStatus.REQUEST_TIMEOUT,
    Outcome.BAD_REQUEST: HTTPStatus.BAD_REQUEST,
    Outcome.ERROR: HTTPStatus.INTERNAL_SERVER_ERROR,
}


class PayloadError(ValueError):
    """An authenticated payload that cannot be understood; answered with 400.

    Source parsers raise it from the hand-off; its message is logged and returned, so
    it must name what is wrong without quoting payload values.
    """


@dataclass(frozen=True, slots=True)
class AuthConfig:
    """How one webhook authenticates its sender."""

    mode: AuthMode
    secret: str | None = field(default=None, repr=False)
    # Bearer: `Authorization: Bearer <token>`; any other header carries the bare token.
    token_header: str = "Authorization"  # noqa: S105 - a header name, not a secret
    signature_header: str = "X-Signature-256"
    # The signature may carry this prefix (GitHub style); required only if asked.
    signature_prefix: str = SHA256_PREFIX
    require_signature_prefix: bool = False
    timestamp_header: str | None = None
    timestamp_tolerance: int = TIMESTAMP_TOLERANCE_SECONDS
    # Signed material is `<timestamp>.<body>` when a timestamp header is configured,
    # so an old signature cannot be replayed with a fresh timestamp.
    timestamp_signed: bool = True
    # Gitea signs the JSON it puts in the `payload` form field, not the form body.
    signed_form_field: str | None = None


@dataclass(frozen=True, slots=True)
class IngressConfig:
    """Everything the ingress needs to know about one webhook."""

    auth: AuthConfig
    max_body_bytes: int = MAX_BODY_BYTES
    methods: frozenset[str] = frozenset({"POST"})
    # Header carrying a unique delivery id (replay key), e.g. X-Gitea-Delivery.
    delivery_id_header: str | None = None
    # A form body whose field of this name holds JSON is parsed as that JSON.
    form_payload_field: str | None = "payload"
    header_allowlist: frozenset[str] = DEFAULT_HEADER_ALLOWLIST
    read_timeout: float = BODY_READ_TIMEOUT
    # Unsigned modes: the sender never sends one body for two events, so an identical
    # payload is a replay (see `replay.py`); signed bodies are always keyed.
    unique_bodies: bool = False


@dataclass(frozen=True, slots=True)
class InboundWebhook:
    """An authenticated, parsed delivery, safe to log, store and fire on the bus."""

    # Parsed body with secret-looking fields redacted (read-only at the top level).
    payload: Mapping[str, Any]
    # Allowlisted headers, lowercase names, sensitive values redacted.
    headers: Mapping[str, str]
    content_type: str
    received_at: datetime
    request_id: str | None
    delivery_id: str | None
    body_size: int
    # What identifies this delivery for the replay guard: the delivery id and/or a
    # digest of what the credential covered (see `replay.py`).
    replay_keys: tuple[str, ...] = ()

    def header(self, name: str) -> str | None:
        """Return a kept header by case-insensitive name."""
        return self.headers.get(name.lower())

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON-friendly form for bus events and diagnostics."""
        return {
            "headers": dict(self.headers),
            "content_type": self.content_type,
            "received_at": self.received_at.isoformat(),
            "request_id": self.request_id,
            "delivery_id": self.delivery_id,
            "body_size": self.body_size,
        }


type Handoff = Callable[[InboundWebhook], Awaitable[None]]


class BodyStream(Protocol):
    """The part of a request body stream the ingress uses."""

    async def read(self, n: int = -1, /) -> bytes:
        """Return up to `n` bytes; empty at the end of the body."""


class WebhookRequest(Protocol):
    """What the ingress reads of a request.

    An aiohttp `web.Request` satisfies it, and so does Home Assistant's `MockRequest`
    that cloud webhooks arrive as (which has no `content_type`/`content_length` and
    returns a new stream on each `content` access, hence this narrow contract).
    """

    @property
    def method(self) -> str:
        """Return the HTTP method."""

    @property
    def headers(self) -> Mapping[str, str]:
        """Return the headers (case-insensitive in both implementations)."""

    @property
    def content(self) -> BodyStream:
        """Return the body stream."""


@dataclass(frozen=True, slots=True)
class IngressResult:
    """What `async_receive` decided, with the status code to answer."""

    outcome: Outcome
    reason: str
    request_id: str | None = None
    delivery_id: str | None = None
    # Body bytes the ingress read: 0 for every request refused before the body.
    body_bytes_read: int = 0
    inbound: InboundWebhook | None = None

    @property
    def status(self) -> int:
        """Return the HTTP status code to answer with."""
        return int(_STATUS[self.outcome])

    @property
    def handed_off(self) -> bool:
        """Return whether the delivery was handed off for dispatch."""
        return self.outcome is Outcome.ACCEPTED

    def to_response(self) -> web.Response:
        """Return the aiohttp response the webhook handler answers with."""
        headers = {REQUEST_ID_HEADER: self.request_id} if self.request_id else None
        return web.json_response(
            {"outcome": self.outcome.value, "request_id": self.request_id},
            status=self.status,
            headers=headers,
        )


class _Rejected(Exception):
    """Internal: stop processing a request with this outcome."""

    def __init__(self, outcome: Outcome, reason: str) -> None:
        super().__init__(reason)
        self.outcome = outcome
        self.reason = reason


class _ReadCounter:
    """Body bytes read so far; kept outside the read so a refusal still reports it."""

    __slots__ = ("bytes",)

    def __init__(self) -> None:
        self.bytes = 0


@dataclass(frozen=True, slots=True)
class _PendingSignature:
    """A well-formed signature (and timestamp) waiting for the body."""

    digest: bytes = field(repr=False)
    timestamp: str | None


# --- Redaction and normalization -------------------------------------------------------


def is_sensitive_name(name: str) -> bool:
    """Return whether a header or field name marks its value as a secret."""
    lowered = name.lower()
    if lowered in SECRET_FIELDS or lowered in SENSITIVE_HEADERS:
        return True
    return any(fragment in lowered for fragment in _SENSITIVE_FRAGMENTS)


def filter_headers(
    headers: Mapping[str, str],
    allowlist: Iterable[str] = DEFAULT_HEADER_ALLOWLIST,
    sensitive: Iterable[str] = (),
) -> dict[str, str]:
    """Keep allowlisted headers (lowercase names) and redact credential values."""
    allowed = {name.lower() for name in allowlist}
    extra_sensitive = {name.lower() for name in sensitive}
    kept: dict[str, str] = {}
    for name, value in headers.items():
        lowered = name.lower()
        if lowered not in allowed:
            continue
        if lowered in extra_sensitive or is_sensitive_name(lowered):
            kept[lowered] = REDACTED
        else:
            kept[lowered] = value[:MAX_HEADER_VALUE_LENGTH]
    return kept


def redact_payload(value: Any, depth: int = 0) -> Any:
    """Return a copy of parsed JSON with secret-looking fields redacted.

    Raises `PayloadError` past `MAX_PAYLOAD_DEPTH`, which also bounds the recursion.
    """
    if depth > MAX_PAYLOAD_DEPTH:
        raise PayloadError("payload is nested too deeply")
    if isinstance(value, Mapping):
        return {
            str(key): REDACTED
            if is_sensitive_name(str(key))
            else redact_payload(item, depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact_payload(item, depth + 1) for item in value]
    return value


def normalize_id(value: str | None, max_length: int) -> str | None:
    """Keep only `[A-Za-z0-9._-]` and cut to a length; empty becomes None."""
    if not value:
        return None
    cleaned = _ID_DISALLOWED.sub("", value)[:max_length]
    return cleaned or None


def normalize_request_id(value: str | None) -> str | None:
    """Normalize an inbound X-Request-Id so it is safe in logs and bus events."""
    return normalize_id(value, MAX_REQUEST_ID_LENGTH)


# --- Payload readers ------------------------------------------------------------------
# Payloads are untrusted even once authenticated (a title is user text, a field may have
# the wrong type), so source parsers read them through these: a wrong type reads as
# missing instead of raising deep inside a template.


def path_get(data: Any, *path: str) -> Any:
    """Return a nested value, or None when any step is missing or not a mapping."""
    for key in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def path_text(data: Any, *path: str) -> str | None:
    """Return a nested scalar (string or number) as text, or None."""
    value = path_get(data, *path)
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value)
    return None


def path_int(data: Any, *path: str) -> int | None:
    """Return a nested integer, or None."""
    value = path_get(data, *path)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def path_flag(data: Any, *path: str) -> bool:
    """Return whether a nested value is literally `true`."""
    return path_get(data, *path) is True


def path_list(data: Any, *path: str) -> list[Any]:
    """Return a nested list, or an empty one."""
    value = path_get(data, *path)
    return value if isinstance(value, list) else []


# --- The request path ------------------------------------------------------------------


async def async_receive(
    request: WebhookRequest,
    config: IngressConfig,
    handoff: Handoff,
    *,
    replay_guard: ReplayGuard | None = None,
    clock: Callable[[], float] = time.time,
) -> IngressResult:
    """Authenticate, read, verify, parse and hand off one request; never raises."""
    delivery_id = (
        normalize_id(
            request.headers.get(config.delivery_id_header), MAX_DELIVERY_ID_LENGTH
        )
        if config.delivery_id_header
        else None
    )
    request_id = normalize_request_id(request.headers.get(REQUEST_ID_HEADER)) or (
        delivery_id[:MAX_REQUEST_ID_LENGTH] if delivery_id else None
    )
    counter = _ReadCounter()
    try:
        inbound = await _admit(request, config, counter, request_id, delivery_id, clock)
        result = await _hand_off(inbound, handoff, replay_guard, counter)
    except _Rejected as err:
        result = IngressResult(
            err.outcome, err.reason, request_id, delivery_id, counter.bytes
        )
    except Exception:
        # Never let it escape: HA's webhook layer would answer 200 to the sender.
        _LOGGER.exception("Webhook request %s failed", request_id or "-")
        result = IngressResult(
            Outcome.ERROR, "internal error", request_id, delivery_id, counter.bytes
        )
    _log_result(result)
    return result


async def _admit(
    request: WebhookRequest,
    config: IngressConfig,
    counter: _ReadCounter,
    request_id: str | None,
    delivery_id: str | None,
    clock: Callable[[], float],
) -> InboundWebhook:
    """Run every check up to a parsed, redacted delivery, or raise `_Rejected`."""
    _check_method(request.method, config.methods)
    content_type = _check_content_type(request.headers.get("Content-Type", ""))
    _check_configured(config.auth)
    pending = _check_credentials(request.headers, config.auth, clock())
    body = await _read_body(request, config, counter)
    form = _decode_form(body) if content_type == CONTENT_TYPE_FORM else None
    signed_key = _verified_key(config.auth, pending, body, form)
    payload = _parse_payload(body, form, config.form_payload_field)
    try:
        redacted = redact_payload(payload)
    except PayloadError as err:
        raise _Rejected(Outcome.BAD_REQUEST, str(err)) from err
    if signed_key is None and config.unique_bodies:
        # After the depth check: the canonical form is built recursively.
        signed_key = payload_key(payload)
    return InboundWebhook(
        payload=freeze(redacted),
        headers=freeze(
            filter_headers(
                request.headers,
                config.header_allowlist,
                _auth_headers(config.auth),
            )
        ),
        content_type=content_type,
        received_at=datetime.now(UTC),
        request_id=request_id,
        delivery_id=delivery_id,
        body_size=len(body),
        replay_keys=tuple(key for key in (delivery_id, signed_key) if key),
    )


def _check_method(method: str, allowed: frozenset[str]) -> None:
    if method.upper() not in allowed:
        raise _Rejected(Outcome.METHOD_NOT_ALLOWED, f"method {method} not allowed")


def _check_content_type(header: str) -> str:
    """Return the body kind (JSON or form) or refuse with 415."""
    lowered = header.partition(";")[0].strip().lower()
    if lowered == CONTENT_TYPE_JSON or lowered.endswith("+json"):
        return CONTENT_TYPE_JSON
    if lowered == CONTENT_TYPE_FORM:
        return CONTENT_TYPE_FORM
    raise _Rejected(Outcome.UNSUPPORTED_MEDIA_TYPE, "content type not supported")


def _check_configured(auth: AuthConfig) -> None:
    if auth.mode is not AuthMode.NONE and not auth.secret:
        raise _Rejected(Outcome.NOT_CONFIGURED, "no secret configured")


def _check_credentials(
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


def _declared_length(headers: Mapping[str, str]) -> int | None:
    value = headers.get("Content-Length")
    if value is None:
        return None
    if not value.strip().isdigit():
        raise _Rejected(Outcome.BAD_REQUEST, "content length invalid")
    return int(value)


async def _read_body(
    request: WebhookRequest, config: IngressConfig, counter: _ReadCounter
) -> bytes:
    """Read at most `max_body_bytes`; a declared or actual excess answers 413."""
    limit = config.max_body_bytes
    declared = _declared_length(request.headers)
    if declared is not None and declared > limit:
        raise _Rejected(Outcome.TOO_LARGE, "declared body too large")
    # Taken once: HA's MockRequest hands out a fresh stream on every access.
    stream = request.content
    chunks: list[bytes] = []
    try:
        async with asyncio.timeout(config.read_timeout):
            while chunk := await stream.read(READ_CHUNK_BYTES):
                counter.bytes += len(chunk)
                if counter.bytes > limit:
                    raise _Rejected(Outcome.TOO_LARGE, "body too large")
                chunks.append(chunk)
    except TimeoutError:
        raise _Rejected(Outcome.TIMEOUT, "body read timed out") from None
    except ConnectionError, ClientPayloadError:
        raise _Rejected(Outcome.BAD_REQUEST, "body incomplete") from None
    return b"".join(chunks)


def _decode_form(body: bytes) -> dict[str, list[str]]:
    try:
        text = body.decode("utf-8")
        return parse_qs(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except UnicodeDecodeError, ValueError:
        raise _Rejected(Outcome.BAD_REQUEST, "form body malformed") from None


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


def _verified_key(
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


def _parse_payload(
    body: bytes, form: dict[str, list[str]] | None, payload_field: str | None
) -> dict[str, Any]:
    if form is None:
        return _loads_object(body)
    if payload_field and form.get(payload_field):
        return _loads_object(form[payload_field][-1].encode("utf-8"))
    return {
        key: values[-1] if len(values) == 1 else values for key, values in form.items()
    }


def _loads_object(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError, ValueError, RecursionError:
        raise _Rejected(Outcome.BAD_REQUEST, "body is not valid JSON") from None
    if not isinstance(value, dict):
        raise _Rejected(Outcome.BAD_REQUEST, "body is not a JSON object")
    return value


def _auth_headers(auth: AuthConfig) -> tuple[str, ...]:
    """Return the configured credential header names, redacted wherever kept."""
    return tuple(name for name in (auth.token_header, auth.signature_header) if name)


async def _hand_off(
    inbound: InboundWebhook,
    handoff: Handoff,
    guard: ReplayGuard | None,
    counter: _ReadCounter,
) -> IngressResult:
    """Dispatch once per replay key; a failed hand-off forgets its keys again."""
    keys = inbound.replay_keys if guard is not None else ()
    common = (inbound.request_id, inbound.delivery_id, counter.bytes)
    if keys and guard is not None and not guard.claim_all(keys):
        return IngressResult(Outcome.DUPLICATE, "delivery already handled", *common)
    try:
        await handoff(inbound)
    except PayloadError as err:
        _release(guard, keys)
        raise _Rejected(Outcome.BAD_REQUEST, str(err)) from err
    except BaseException:
        _release(guard, keys)
        raise
    return IngressResult(Outcome.ACCEPTED, "handed off", *common, inbound)


def _release(guard: ReplayGuard | None, keys: tuple[str, ...]) -> None:
    if guard is not None:
        guard.release_all(keys)


def _log_result(result: IngressResult) -> None:
    # Only our own fields: no header or payload value reaches the log.
    # Refusals are routine on an exposed endpoint: INFO, so they cannot flood the log
    # at HA's default level; a missing secret is a configuration fault worth a warning.
    if result.outcome is Outcome.NOT_CONFIGURED:
        level = logging.WARNING
    elif result.status >= 400:
        level = logging.INFO
    else:
        level = logging.DEBUG
    _LOGGER.log(
        level,
        "Webhook request %s (delivery %s): %s %s, %s body bytes read",
        result.request_id or "-",
        result.delivery_id or "-",
        result.status,
        result.reason,
        result.body_bytes_read,
    )
