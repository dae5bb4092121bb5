"""Header and payload hygiene of the webhook ingress: redaction, ids, safe readers.

Why a module of its own: these are pure functions over already-parsed data, used by
the request path (`ingress.py`) and by every source parser (the `path_*` readers),
with no part in authentication; keeping them apart keeps the request path short.
`ingress.py` re-exports them, so `from .ingress import filter_headers` still works.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
import re
from typing import Any, Final

from ..const import SECRET_FIELDS
from .ingress_common import (
    MAX_HEADER_VALUE_LENGTH,
    MAX_PAYLOAD_DEPTH,
    MAX_REQUEST_ID_LENGTH,
    PayloadError,
)

REDACTED: Final = "**REDACTED**"

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
