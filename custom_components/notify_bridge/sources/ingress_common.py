"""The limits and small types every part of the webhook ingress shares.

Why a module of its own: the request path (`ingress.py`), the credential checks
(`ingress_auth.py`) and the payload helpers (`ingress_payload.py`) all need the
limits, the auth settings and the refusal they raise; kept here, below all three,
they import it and not each other, so no import cycle can form. `ingress.py`
re-exports every public name, which stays its public home.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

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
SHA256_PREFIX: Final = "sha256="


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


class _Rejected(Exception):
    """Internal: stop processing a request with this outcome."""

    def __init__(self, outcome: Outcome, reason: str) -> None:
        super().__init__(reason)
        self.outcome = outcome
        self.reason = reason


@dataclass(frozen=True, slots=True)
class _PendingSignature:
    """A well-formed signature (and timestamp) waiting for the body."""

    digest: bytes = field(repr=False)
    timestamp: str | None
