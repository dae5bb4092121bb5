"""Generic webhook source: configuration model, validation and event selection.

Any sender that can POST JSON or a form can notify: it authenticates with a bearer
token or an HMAC-SHA256 signature (optionally over a timestamp, checked against a
±5 min window), or with nothing at all, which is allowed only when the webhook is
reachable from the local network alone. The event type is read from a dotted field
path of the payload (e.g. `event.type`); routes filter on it and render their
template over the payload.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
import re
from typing import Any, Final

from ..pipeline.models import BridgeEvent, freeze
from ..pipeline.router import lookup
from .ingress import (
    MAX_BODY_BYTES,
    MIN_SECRET_LENGTH,
    SHA256_PREFIX,
    TIMESTAMP_TOLERANCE_SECONDS,
    AuthConfig,
    AuthMode,
    InboundWebhook,
    IngressConfig,
)

SOURCE_KIND: Final = "webhook"

CONF_AUTH_MODE: Final = "auth_mode"
CONF_SECRET: Final = "secret"  # noqa: S105 - a field name
CONF_LOCAL_ONLY: Final = "local_only"
CONF_TOKEN_HEADER: Final = "token_header"  # noqa: S105 - a field name
CONF_SIGNATURE_HEADER: Final = "signature_header"
CONF_SIGNATURE_PREFIX: Final = "signature_prefix"
CONF_TIMESTAMP_HEADER: Final = "timestamp_header"
CONF_TIMESTAMP_TOLERANCE: Final = "timestamp_tolerance"
CONF_IDEMPOTENCY_HEADER: Final = "idempotency_header"
CONF_EVENT_FIELD: Final = "event_field"

DEFAULT_TOKEN_HEADER: Final = "Authorization"  # noqa: S105 - a header name
DEFAULT_SIGNATURE_HEADER: Final = "X-Signature-256"
DEFAULT_IDEMPOTENCY_HEADER: Final = "Idempotency-Key"
DEFAULT_EVENT_FIELD: Final = "event.type"
# Event type of a payload without the configured field.
DEFAULT_EVENT_TYPE: Final = "webhook"
# Event types are cut to this many characters (they end up in logs and entity states).
MAX_EVENT_TYPE_LENGTH: Final = 64
MAX_TIMESTAMP_TOLERANCE: Final = 3600
DEFAULT_TEMPLATE: Final = "{{ event_type }}: {{ payload }}"

# RFC 9110 token characters: what a header name may consist of.
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}")
_FIELD_SEGMENT = re.compile(r"[^.\s]{1,64}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class ConfigError(ValueError):
    """A generic webhook configuration is invalid; `errors` maps field → error key."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        """Keep the field errors (translation keys, as config flows show them)."""
        super().__init__(", ".join(f"{key}: {value}" for key, value in errors.items()))
        self.errors = dict(errors)


@dataclass(frozen=True, slots=True)
class GenericWebhookConfig:
    """What a generic webhook source entry configures."""

    auth_mode: AuthMode
    local_only: bool
    secret: str | None = field(default=None, repr=False)
    token_header: str = DEFAULT_TOKEN_HEADER
    signature_header: str = DEFAULT_SIGNATURE_HEADER
    # Whether signatures carry (and must carry) a `sha256=` prefix.
    signature_prefix: bool = False
    timestamp_header: str | None = None
    timestamp_tolerance: int = TIMESTAMP_TOLERANCE_SECONDS
    idempotency_header: str | None = DEFAULT_IDEMPOTENCY_HEADER
    event_field: str | None = DEFAULT_EVENT_FIELD
    max_body_bytes: int = MAX_BODY_BYTES

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> GenericWebhookConfig:
        """Build from config entry data; raise `ConfigError` when invalid."""
        try:
            mode = AuthMode(data.get(CONF_AUTH_MODE, AuthMode.HMAC_SHA256))
        except ValueError:
            raise ConfigError({CONF_AUTH_MODE: "invalid_auth_mode"}) from None
        config = cls(
            auth_mode=mode,
            local_only=bool(data.get(CONF_LOCAL_ONLY, False)),
            secret=data.get(CONF_SECRET) or None,
            token_header=data.get(CONF_TOKEN_HEADER) or DEFAULT_TOKEN_HEADER,
            signature_header=data.get(CONF_SIGNATURE_HEADER)
            or DEFAULT_SIGNATURE_HEADER,
            signature_prefix=bool(data.get(CONF_SIGNATURE_PREFIX, False)),
            timestamp_header=data.get(CONF_TIMESTAMP_HEADER) or None,
            timestamp_tolerance=_int_or(
                data.get(CONF_TIMESTAMP_TOLERANCE), TIMESTAMP_TOLERANCE_SECONDS
            ),
            idempotency_header=_optional(
                data, CONF_IDEMPOTENCY_HEADER, DEFAULT_IDEMPOTENCY_HEADER
            ),
            event_field=_optional(data, CONF_EVENT_FIELD, DEFAULT_EVENT_FIELD),
        )
        if errors := validate_config(config):
            raise ConfigError(errors)
        return config

    def ingress_config(self) -> IngressConfig:
        """Return the ingress settings for this webhook."""
        return IngressConfig(
            auth=AuthConfig(
                mode=self.auth_mode,
                secret=self.secret,
                token_header=self.token_header,
                signature_header=self.signature_header,
                signature_prefix=SHA256_PREFIX,
                require_signature_prefix=self.signature_prefix,
                timestamp_header=self.timestamp_header,
                timestamp_tolerance=self.timestamp_tolerance,
            ),
            max_body_bytes=self.max_body_bytes,
            delivery_id_header=self.idempotency_header,
            form_payload_field=None,
        )


def _optional(data: Mapping[str, Any], key: str, default: str) -> Any:
    """Return the default when a key is absent; an empty value switches it off."""
    if key not in data:
        return default
    return data[key] or None


def _int_or(value: Any, default: int) -> int:
    if isinstance(value, bool):
        return default
    try:
        return int(value)
    except TypeError, ValueError:
        return default


def validate_config(config: GenericWebhookConfig) -> dict[str, str]:
    """Return field → error key for everything wrong; empty when valid."""
    errors: dict[str, str] = {}
    if config.auth_mode is AuthMode.NONE:
        if not config.local_only:
            # An unauthenticated endpoint reachable from the internet lets anyone
            # send notifications in the user's name.
            errors[CONF_AUTH_MODE] = "none_requires_local_only"
    elif not config.secret or len(config.secret) < MIN_SECRET_LENGTH:
        errors[CONF_SECRET] = "secret_too_short"
    headers = {
        CONF_TOKEN_HEADER: config.token_header,
        CONF_SIGNATURE_HEADER: config.signature_header,
        CONF_TIMESTAMP_HEADER: config.timestamp_header,
        CONF_IDEMPOTENCY_HEADER: config.idempotency_header,
    }
    for key, name in headers.items():
        if name is not None and not (
            isinstance(name, str) and _HEADER_NAME.fullmatch(name)
        ):
            errors[key] = "invalid_header_name"
    if not 1 <= config.timestamp_tolerance <= MAX_TIMESTAMP_TOLERANCE:
        errors[CONF_TIMESTAMP_TOLERANCE] = "invalid_timestamp_tolerance"
    event_field = config.event_field
    if event_field is not None and not (
        isinstance(event_field, str) and valid_field_path(event_field)
    ):
        errors[CONF_EVENT_FIELD] = "invalid_field_path"
    return errors


def valid_field_path(path: str) -> bool:
    """Return whether a dotted field path (e.g. `event.type`) is well formed."""
    return all(_FIELD_SEGMENT.fullmatch(part) for part in path.split("."))


@dataclass(frozen=True, slots=True)
class GenericEvent:
    """One generic delivery: its event type and the payload to render over."""

    event_type: str
    context: Mapping[str, Any]
    request_id: str | None = None

    def to_bridge_event(
        self, source_entry_id: str, *, occurred_at: datetime | None = None
    ) -> BridgeEvent:
        """Return the pipeline event for this delivery."""
        return BridgeEvent(
            source_entry_id=source_entry_id,
            source_kind=SOURCE_KIND,
            event_type=self.event_type,
            data=self.context,
            occurred_at=occurred_at or datetime.now(UTC),
            request_id=self.request_id,
            item_key=self.event_type,
        )


def select_event_type(payload: Mapping[str, Any], event_field: str | None) -> str:
    """Return the event type at a dotted path, or the default when absent."""
    if not event_field:
        return DEFAULT_EVENT_TYPE
    value = lookup(payload, event_field)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return DEFAULT_EVENT_TYPE
    cleaned = _CONTROL.sub("", str(value)).strip()[:MAX_EVENT_TYPE_LENGTH]
    return cleaned or DEFAULT_EVENT_TYPE


def parse_generic_webhook(
    inbound: InboundWebhook, config: GenericWebhookConfig
) -> GenericEvent:
    """Return the event of an authenticated generic delivery."""
    event_type = select_event_type(inbound.payload, config.event_field)
    # The payload sits under its own key: spread at the top level, a payload field
    # named `event` would collide with the pipeline's own `event` block.
    context = {
        "event_type": event_type,
        # Plain dicts, so the context stays JSON-friendly for bus events.
        "payload": dict(inbound.payload),
        "headers": dict(inbound.headers),
    }
    return GenericEvent(
        event_type=event_type,
        context=freeze(context),
        request_id=inbound.request_id,
    )
