"""Generic webhooks: configuration rules, signed deliveries, event selection."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from custom_components.notify_bridge.sources.generic_webhook import (
    DEFAULT_EVENT_TYPE,
    ConfigError,
    GenericEvent,
    GenericWebhookConfig,
    parse_generic_webhook,
    select_event_type,
    valid_field_path,
    validate_config,
)
from custom_components.notify_bridge.sources.ingress import (
    AuthMode,
    InboundWebhook,
)

from .conftest import SECRET, Harness
from .payloads import sign


def test_none_is_allowed_only_with_local_only() -> None:
    assert validate_config(GenericWebhookConfig(AuthMode.NONE, local_only=False)) == {
        "auth_mode": "none_requires_local_only"
    }
    assert validate_config(GenericWebhookConfig(AuthMode.NONE, local_only=True)) == {}


@pytest.mark.parametrize("mode", [AuthMode.BEARER, AuthMode.HMAC_SHA256])
@pytest.mark.parametrize("secret", [None, "short"])
def test_authenticated_modes_need_a_real_secret(
    mode: AuthMode, secret: str | None
) -> None:
    config = GenericWebhookConfig(mode, local_only=True, secret=secret)
    assert validate_config(config) == {"secret": "secret_too_short"}


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        (
            {"signature_header": "X Bad Header"},
            {"signature_header": "invalid_header_name"},
        ),
        ({"timestamp_header": ""}, {"timestamp_header": "invalid_header_name"}),
        (
            {"idempotency_header": "Idem\r\nX: 1"},
            {"idempotency_header": "invalid_header_name"},
        ),
        ({"token_header": 5}, {"token_header": "invalid_header_name"}),
        (
            {"timestamp_tolerance": 0},
            {"timestamp_tolerance": "invalid_timestamp_tolerance"},
        ),
        ({"event_field": "event..type"}, {"event_field": "invalid_field_path"}),
        ({"event_field": 3}, {"event_field": "invalid_field_path"}),
        ({"event_field": None, "idempotency_header": None}, {}),
    ],
)
def test_field_validation(changes: dict[str, Any], errors: dict[str, str]) -> None:
    config = GenericWebhookConfig(
        AuthMode.HMAC_SHA256, local_only=False, secret=SECRET, **changes
    )
    assert validate_config(config) == errors


def test_from_mapping_builds_and_validates() -> None:
    config = GenericWebhookConfig.from_mapping(
        {
            "auth_mode": "hmac_sha256",
            "secret": SECRET,
            "signature_header": "X-Hub-Signature-256",
            "signature_prefix": True,
            "timestamp_header": "X-Timestamp",
            "timestamp_tolerance": "120",
            "idempotency_header": "X-Event-Id",
            "event_field": "event.type",
        }
    )
    assert config.auth_mode is AuthMode.HMAC_SHA256
    assert config.timestamp_tolerance == 120
    assert SECRET not in repr(config)
    ingress = config.ingress_config()
    assert ingress.auth.require_signature_prefix
    assert ingress.delivery_id_header == "X-Event-Id"
    assert SECRET not in repr(ingress)

    defaults = GenericWebhookConfig.from_mapping(
        {"auth_mode": "bearer", "secret": SECRET, "timestamp_tolerance": True}
    )
    assert defaults.timestamp_tolerance == 300
    assert defaults.event_field == "event.type"
    assert defaults.idempotency_header == "Idempotency-Key"
    switched_off = GenericWebhookConfig.from_mapping(
        {"secret": SECRET, "event_field": "", "idempotency_header": ""}
    )
    assert (switched_off.event_field, switched_off.idempotency_header) == (None, None)
    assert (
        GenericWebhookConfig.from_mapping(
            {"secret": SECRET, "timestamp_tolerance": "x"}
        ).timestamp_tolerance
        == 300
    )

    with pytest.raises(ConfigError) as err:
        GenericWebhookConfig.from_mapping({"auth_mode": "none"})
    assert err.value.errors == {"auth_mode": "none_requires_local_only"}
    with pytest.raises(ConfigError) as err:
        GenericWebhookConfig.from_mapping({"auth_mode": "magic"})
    assert err.value.errors == {"auth_mode": "invalid_auth_mode"}


@pytest.mark.parametrize(
    ("payload", "field", "expected"),
    [
        ({"event": {"type": "deploy.finished"}}, "event.type", "deploy.finished"),
        ({"kind": 42}, "kind", "42"),
        ({"kind": True}, "kind", DEFAULT_EVENT_TYPE),
        ({"kind": {"nested": 1}}, "kind", DEFAULT_EVENT_TYPE),
        ({"kind": "a\x00b\nc" + "x" * 100}, "kind", ("abc" + "x" * 100)[:64]),
        ({"kind": "   "}, "kind", DEFAULT_EVENT_TYPE),
        ({}, "event.type", DEFAULT_EVENT_TYPE),
        ({"event": {"type": "x"}}, None, DEFAULT_EVENT_TYPE),
    ],
)
def test_event_selection_by_field_path(
    payload: dict[str, Any], field: str | None, expected: str
) -> None:
    assert select_event_type(payload, field) == expected


def test_field_path_shape() -> None:
    assert valid_field_path("a.b.c")
    assert not valid_field_path("a. b")
    assert not valid_field_path("")


async def test_signed_timestamped_delivery_end_to_end(harness: Harness) -> None:
    config = GenericWebhookConfig(
        AuthMode.HMAC_SHA256,
        local_only=False,
        secret=SECRET,
        signature_header="X-Hub-Signature-256",
        signature_prefix=True,
        timestamp_header="X-Timestamp",
        idempotency_header="X-Event-Id",
    )
    events: list[GenericEvent] = []

    async def handoff(inbound: InboundWebhook) -> None:
        events.append(parse_generic_webhook(inbound, config))

    harness.config = config.ingress_config()
    harness.handoff = handoff
    body = json.dumps({"event": {"type": "backup.failed"}, "host": "nas"}).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "X-Hub-Signature-256": "sha256="
        + sign(SECRET, timestamp.encode() + b"." + body),
        "X-Timestamp": timestamp,
        "X-Event-Id": "evt-1",
    }
    for _ in range(2):
        async with harness.client.post("/hook", data=body, headers=headers) as response:
            assert response.status in (200, 202)

    (event,) = events
    assert event.event_type == "backup.failed"
    assert event.request_id == "evt-1"
    bridge = event.to_bridge_event("entry-3")
    assert bridge.source_kind == "webhook"
    assert bridge.event_type == "backup.failed"
    assert bridge.data["payload"]["host"] == "nas"
    json.dumps(dict(bridge.data))
    assert headers["X-Hub-Signature-256"] not in json.dumps(
        dict(bridge.data["headers"])
    )


async def test_local_only_none_mode_accepts_unsigned(harness: Harness) -> None:
    config = GenericWebhookConfig(AuthMode.NONE, local_only=True, event_field="type")
    seen: list[GenericEvent] = []

    async def handoff(inbound: InboundWebhook) -> None:
        seen.append(parse_generic_webhook(inbound, config))

    harness.config = config.ingress_config()
    harness.handoff = handoff
    async with harness.client.post(
        "/hook",
        data="type=door.opened&where=garage",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ) as response:
        assert response.status == 202
    assert seen[0].event_type == "door.opened"
    assert seen[0].context["payload"] == {"type": "door.opened", "where": "garage"}
