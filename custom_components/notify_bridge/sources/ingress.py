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

This module is the request path and the public home of the ingress; the limits and
shared types live in `ingress_common.py`, the credential checks in `ingress_auth.py`,
redaction and the payload readers in `ingress_payload.py`. All of their public names
are re-exported here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
import json
import logging
import time
from typing import Any, Final, Protocol
from urllib.parse import parse_qs

from aiohttp import ClientPayloadError, web

from ..pipeline.models import freeze
from .ingress_auth import (
    auth_headers,
    check_configured,
    check_credentials,
    verified_key,
)
from .ingress_common import (
    BODY_READ_TIMEOUT,
    MAX_BODY_BYTES,
    MAX_DELIVERY_ID_LENGTH,
    MAX_FORM_FIELDS,
    MAX_HEADER_VALUE_LENGTH,
    MAX_PAYLOAD_DEPTH,
    MAX_REQUEST_ID_LENGTH,
    MIN_SECRET_LENGTH,
    READ_CHUNK_BYTES,
    SHA256_PREFIX,
    TIMESTAMP_TOLERANCE_SECONDS,
    AuthConfig,
    AuthMode,
    Outcome,
    PayloadError,
    _PendingSignature,
    _Rejected,
)
from .ingress_payload import (
    DEFAULT_HEADER_ALLOWLIST,
    REDACTED,
    SENSITIVE_HEADERS,
    filter_headers,
    is_sensitive_name,
    normalize_id,
    normalize_request_id,
    path_flag,
    path_get,
    path_int,
    path_list,
    path_text,
    redact_payload,
)
from .replay import (
    MAX_REPLAY_ENTRIES,
    REPLAY_WINDOW_SECONDS,
    ReplayGuard,
    content_key,
    payload_key,
)

# This module is the public home of the ingress: every name that moved to the
# helper modules (or lives in `replay.py`) is re-exported here, so
# `from .ingress import AuthConfig, filter_headers, ReplayGuard` keeps working.
__all__ = [
    "BODY_READ_TIMEOUT",
    "CONTENT_TYPE_FORM",
    "CONTENT_TYPE_JSON",
    "DEFAULT_HEADER_ALLOWLIST",
    "MAX_BODY_BYTES",
    "MAX_DELIVERY_ID_LENGTH",
    "MAX_FORM_FIELDS",
    "MAX_HEADER_VALUE_LENGTH",
    "MAX_PAYLOAD_DEPTH",
    "MAX_REPLAY_ENTRIES",
    "MAX_REQUEST_ID_LENGTH",
    "MIN_SECRET_LENGTH",
    "READ_CHUNK_BYTES",
    "REDACTED",
    "REPLAY_WINDOW_SECONDS",
    "REQUEST_ID_HEADER",
    "SENSITIVE_HEADERS",
    "SHA256_PREFIX",
    "TIMESTAMP_TOLERANCE_SECONDS",
    "AuthConfig",
    "AuthMode",
    "BodyStream",
    "Handoff",
    "InboundWebhook",
    "IngressConfig",
    "IngressResult",
    "Outcome",
    "PayloadError",
    "ReplayGuard",
    "WebhookRequest",
    "_PendingSignature",
    "_Rejected",
    "async_receive",
    "content_key",
    "filter_headers",
    "is_sensitive_name",
    "normalize_id",
    "normalize_request_id",
    "path_flag",
    "path_get",
    "path_int",
    "path_list",
    "path_text",
    "payload_key",
    "redact_payload",
]

_LOGGER = logging.getLogger(__name__)

REQUEST_ID_HEADER: Final = "X-Request-Id"

CONTENT_TYPE_JSON: Final = "application/json"
CONTENT_TYPE_FORM: Final = "application/x-www-form-urlencoded"


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


class _ReadCounter:
    """Body bytes read so far; kept outside the read so a refusal still reports it."""

    __slots__ = ("bytes",)

    def __init__(self) -> None:
        self.bytes = 0


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
    check_configured(config.auth)
    pending = check_credentials(request.headers, config.auth, clock())
    body = await _read_body(request, config, counter)
    form = _decode_form(body) if content_type == CONTENT_TYPE_FORM else None
    signed_key = verified_key(config.auth, pending, body, form)
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
                auth_headers(config.auth),
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
