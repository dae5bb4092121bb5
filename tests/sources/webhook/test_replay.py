"""Replays are recognized by what the credential covered, not by an unsigned id header.

Against the real ingress on a real aiohttp server on 127.0.0.1 (see conftest).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest

from custom_components.notify_bridge.sources.ingress import (
    AuthConfig,
    AuthMode,
    InboundWebhook,
    IngressConfig,
    ReplayGuard,
)
from custom_components.notify_bridge.sources.replay import (
    CONTENT_KEY_PREFIX,
    payload_key,
)

from .conftest import SECRET, Harness, hmac_config
from .payloads import sign

NOW = 1_800_000_000.0


async def post(harness: Harness, body: bytes, headers: dict[str, str]) -> int:
    """POST and return the status."""
    async with harness.client.post("/hook", data=body, headers=headers) as response:
        return response.status


def signed(body: bytes, **headers: str) -> dict[str, str]:
    """Return the headers of a generic HMAC delivery of `body`."""
    return {
        "Content-Type": "application/json",
        "X-Signature-256": sign(SECRET, body),
        **headers,
    }


def timestamped(body: bytes, ts: str, **headers: str) -> dict[str, str]:
    """Return headers signing `<ts>.<body>`, Stripe/Slack style."""
    return {
        "Content-Type": "application/json",
        "X-Signature-256": sign(SECRET, ts.encode() + b"." + body),
        "X-Timestamp": ts,
        **headers,
    }


BODY = b'{"event": "door", "state": "open"}'


async def test_captured_delivery_with_a_new_delivery_id_is_a_replay(
    harness: Harness,
) -> None:
    """The id header is not signed: changing or dropping it makes no new delivery."""
    assert await post(harness, BODY, signed(BODY, **{"X-Delivery": "d-1"})) == 202
    for forged in ("d-2", "d-3", "0" * 128):
        assert await post(harness, BODY, signed(BODY, **{"X-Delivery": forged})) == 200
        assert harness.last.result.reason == "delivery already handled"
    assert await post(harness, BODY, signed(BODY)) == 200
    assert len(harness.handed) == 1
    # A refused replay claims nothing: its forged id is not remembered either.
    assert "d-2" not in harness.guard  # type: ignore[operator]


async def test_same_id_redelivered_is_a_replay_and_a_new_body_is_not(
    harness: Harness,
) -> None:
    """Gitea's redeliver: same id, same body. A genuinely new event: new body."""
    assert await post(harness, BODY, signed(BODY, **{"X-Delivery": "d-1"})) == 202
    assert await post(harness, BODY, signed(BODY, **{"X-Delivery": "d-1"})) == 200
    other = b'{"event": "door", "state": "closed"}'
    assert await post(harness, other, signed(other, **{"X-Delivery": "d-2"})) == 202
    assert len(harness.handed) == 2
    assert [inbound.payload["state"] for inbound in harness.handed] == [
        "open",
        "closed",
    ]


async def test_reordered_keys_break_the_signature_and_claim_nothing(
    harness: Harness,
) -> None:
    """Different bytes under the captured signature are a forgery (401), not a
    new delivery; re-signed by the secret's holder they are a new delivery."""
    captured = signed(BODY, **{"X-Delivery": "d-1"})
    assert await post(harness, BODY, captured) == 202
    reordered = json.dumps({"state": "open", "event": "door"}).encode()
    spaced = BODY.replace(b": ", b":")
    for variant in (reordered, spaced, BODY + b" "):
        headers = {**captured, "X-Delivery": "d-forged"}
        assert await post(harness, variant, headers) == 401
        assert harness.last.result.reason == "signature invalid"
    assert "d-forged" not in harness.guard  # type: ignore[operator]
    assert await post(harness, reordered, signed(reordered)) == 202
    assert len(harness.handed) == 2


async def test_signed_timestamp_is_part_of_the_key(harness: Harness) -> None:
    """A fresh signed timestamp needs the secret, so it is a new delivery; the same
    timestamp under a new id is the captured one."""
    harness.clock = lambda: NOW
    harness.config = hmac_config(timestamp_header="X-Timestamp")
    ts = str(int(NOW))
    assert (
        await post(harness, BODY, timestamped(BODY, ts, **{"X-Delivery": "a"})) == 202
    )
    assert (
        await post(harness, BODY, timestamped(BODY, ts, **{"X-Delivery": "b"})) == 200
    )
    assert await post(harness, BODY, timestamped(BODY, ts)) == 200
    # The captured signature with a fresh timestamp header: the signature breaks.
    forged = {**timestamped(BODY, ts), "X-Timestamp": str(int(NOW) + 1)}
    assert await post(harness, BODY, forged) == 401
    # Re-signed over a new timestamp: only the secret's holder can, so it passes.
    fresh = timestamped(BODY, str(int(NOW) + 1), **{"X-Delivery": "c"})
    assert await post(harness, BODY, fresh) == 202
    assert len(harness.handed) == 2


async def test_unsigned_timestamp_is_not_part_of_the_key(harness: Harness) -> None:
    """A timestamp outside the signature can be changed by anyone: body decides."""
    harness.clock = lambda: NOW
    harness.config = hmac_config(timestamp_header="X-Timestamp", timestamp_signed=False)
    headers = signed(BODY, **{"X-Timestamp": str(int(NOW))})
    assert await post(harness, BODY, headers) == 202
    headers = signed(BODY, **{"X-Timestamp": str(int(NOW) + 5), "X-Delivery": "new"})
    assert await post(harness, BODY, headers) == 200
    assert len(harness.handed) == 1


async def test_gitea_form_delivery_replayed_as_json_is_a_replay(
    harness: Harness,
) -> None:
    """Gitea signs the JSON in the form's `payload` field: the key is that JSON,
    whichever envelope (form or raw JSON) carries it again."""
    harness.config = hmac_config(
        signature_header="X-Gitea-Signature",
        signed_form_field="payload",
        delivery_id_header="X-Gitea-Delivery",
    )
    content = json.dumps({"ref": "refs/heads/main", "after": "abc"}, indent=2)
    signature = sign(SECRET, content.encode())
    form = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Gitea-Signature": signature,
        "X-Gitea-Delivery": "g-1",
    }
    body = urlencode({"payload": content}).encode()
    assert await post(harness, body, form) == 202
    as_json = {**form, "Content-Type": "application/json", "X-Gitea-Delivery": "g-2"}
    assert await post(harness, content.encode(), as_json) == 200
    # Extra form fields around the signed one change nothing that was signed.
    padded = urlencode({"payload": content, "x": "1"}).encode()
    assert await post(harness, padded, {**form, "X-Gitea-Delivery": "g-3"}) == 200
    assert len(harness.handed) == 1


async def test_failed_hand_off_releases_every_key(harness: Harness) -> None:
    """The sender's retry (same body, any id) gets through after a failure."""
    calls: list[InboundWebhook] = []

    async def flaky(inbound: InboundWebhook) -> None:
        calls.append(inbound)
        if len(calls) == 1:
            raise RuntimeError("dispatcher down")

    harness.handoff = flaky
    assert await post(harness, BODY, signed(BODY, **{"X-Delivery": "r-1"})) == 500
    assert len(harness.guard or ()) == 0
    assert await post(harness, BODY, signed(BODY, **{"X-Delivery": "r-2"})) == 202
    assert await post(harness, BODY, signed(BODY, **{"X-Delivery": "r-3"})) == 200
    assert len(calls) == 2


async def test_replay_recognized_after_a_restart(harness: Harness) -> None:
    """The content key is persisted with the ids: a restored guard still refuses."""
    assert await post(harness, BODY, signed(BODY, **{"X-Delivery": "p-1"})) == 202
    assert harness.guard is not None
    stored = json.loads(json.dumps(harness.guard.as_dict()))
    keys = [key for key, _ in stored["entries"]]
    assert "p-1" in keys
    assert any(key.startswith(CONTENT_KEY_PREFIX) for key in keys)
    harness.guard = ReplayGuard.from_dict(stored)
    assert await post(harness, BODY, signed(BODY, **{"X-Delivery": "p-2"})) == 200
    assert len(harness.handed) == 1


def bearer(**config: Any) -> IngressConfig:
    """Return a bearer-token ingress config."""
    return IngressConfig(auth=AuthConfig(mode=AuthMode.BEARER, secret=SECRET), **config)


BEARER = {"Content-Type": "application/json", "Authorization": f"Bearer {SECRET}"}


async def test_bearer_bodies_are_not_deduplicated_by_default(harness: Harness) -> None:
    """The token does not cover the body: a generic sender's repeated identical
    alert is two alerts (deduplicating it would stop no token holder)."""
    harness.config = bearer()
    assert await post(harness, BODY, BEARER) == 202
    assert await post(harness, BODY, BEARER) == 202
    harness.config = IngressConfig(auth=AuthConfig(mode=AuthMode.NONE))
    assert await post(harness, BODY, {"Content-Type": "application/json"}) == 202
    assert await post(harness, BODY, {"Content-Type": "application/json"}) == 202
    assert len(harness.handed) == 4


async def test_unique_bodies_catch_exact_and_reformatted_resends(
    harness: Harness,
) -> None:
    """Planka-style sources: the same payload, however re-encoded, is one event."""
    harness.config = bearer(unique_bodies=True)
    payload = {"event": "cardUpdate", "data": {"item": {"id": "1", "updatedAt": "t"}}}
    body = json.dumps(payload).encode()
    assert await post(harness, body, BEARER) == 202
    assert await post(harness, body, BEARER) == 200
    reformatted = json.dumps(
        {"data": {"item": {"updatedAt": "t", "id": "1"}}, "event": "cardUpdate"},
        indent=4,
    ).encode()
    assert await post(harness, reformatted, BEARER) == 200
    payload["data"]["item"]["updatedAt"] = "t2"
    assert await post(harness, json.dumps(payload).encode(), BEARER) == 202
    assert len(harness.handed) == 2


async def test_unique_bodies_too_deep_is_400_and_claims_nothing(
    harness: Harness,
) -> None:
    """The canonical form is built only after the depth bound: a hostile nesting
    is refused as a bad request, not a crash."""
    harness.config = bearer(unique_bodies=True)
    deep = b'{"a": ' * 500 + b"1" + b"}" * 500
    assert await post(harness, deep, BEARER) == 400
    assert len(harness.guard or ()) == 0


def test_claim_all_is_all_or_nothing() -> None:
    """A delivery sharing any key with a seen one claims none of its own keys."""
    guard = ReplayGuard()
    assert guard.claim_all(("id-1", "body:aa"))
    assert not guard.claim_all(("id-2", "body:aa"))
    assert "id-2" not in guard
    assert not guard.claim_all(("id-1", "body:bb"))
    assert "body:bb" not in guard
    guard.release_all(("id-1", "body:aa"))
    assert len(guard) == 0
    assert guard.claim_all(("id-2", "body:aa", "id-2"))
    assert len(guard) == 2


@pytest.mark.parametrize(
    "other",
    [
        {"b": [1, 2], "a": "x"},
        {"a": "x", "b": [1, 2]},
    ],
)
def test_payload_key_ignores_key_order_not_values(other: dict[str, Any]) -> None:
    """Canonical form: key order and spacing do not matter, values do."""
    assert payload_key({"a": "x", "b": [1, 2]}) == payload_key(other)
    assert payload_key({"a": "x", "b": [2, 1]}) != payload_key(other)
    assert payload_key({"a": "\ud800"}).startswith(CONTENT_KEY_PREFIX)
