"""The shared ingress against a real aiohttp server on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import json
import logging
from typing import Any
from urllib.parse import urlencode

import pytest

from custom_components.notify_bridge.sources.ingress import (
    MAX_BODY_BYTES,
    MAX_REQUEST_ID_LENGTH,
    READ_CHUNK_BYTES,
    REDACTED,
    AuthConfig,
    AuthMode,
    InboundWebhook,
    IngressConfig,
    Outcome,
    PayloadError,
    ReplayGuard,
    async_receive,
    filter_headers,
    normalize_request_id,
    path_flag,
    path_int,
    path_list,
    path_text,
    redact_payload,
)

from .conftest import SECRET, Harness, hmac_config
from .payloads import push_payload, sign

FIFTY_MB = 50 * 1024 * 1024


def signed(
    payload: Any, *, secret: str = SECRET, delivery: str | None = "d-1", **extra: str
) -> tuple[bytes, dict[str, str]]:
    """Return a JSON body and headers signed like a generic HMAC sender."""
    body = json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Signature-256": sign(secret, body),
        **extra,
    }
    if delivery:
        headers["X-Delivery"] = delivery
    return body, headers


async def post(harness: Harness, body: Any, headers: dict[str, str]) -> Any:
    """POST and return (status, parsed JSON answer, response headers)."""
    async with harness.client.post("/hook", data=body, headers=headers) as response:
        return response.status, await response.json(), response.headers


# --- Happy path and the "no body read" guarantees ---------------------------------------


async def test_signed_json_is_handed_off_once(harness: Harness) -> None:
    body, headers = signed({"event": {"type": "ping"}, "n": 1})
    status, answer, response_headers = await post(harness, body, headers)

    assert status == 202
    assert answer == {"outcome": "accepted", "request_id": "d-1"}
    assert response_headers["X-Request-Id"] == "d-1"
    assert len(harness.handed) == 1
    inbound = harness.handed[0]
    assert inbound.payload == {"event": {"type": "ping"}, "n": 1}
    assert inbound.delivery_id == "d-1"
    assert inbound.body_size == len(body)
    # The counter sees reads: the zero counts below are measurements, not defaults.
    assert harness.last.counted_bytes == len(body)
    assert harness.last.result.body_bytes_read == len(body)
    assert harness.last.result.handed_off


async def test_unauthenticated_50mb_body_is_refused_unread(harness: Harness) -> None:
    async def fifty_megabytes() -> AsyncIterator[bytes]:
        chunk = b"x" * (1024 * 1024)
        for _ in range(50):
            yield chunk

    headers = {"Content-Type": "application/json", "Content-Length": str(FIFTY_MB)}
    async with harness.client.post(
        "/hook", data=fifty_megabytes(), headers=headers
    ) as response:
        assert response.status == 401

    seen = harness.last
    assert seen.result.outcome is Outcome.UNAUTHORIZED
    assert seen.counted_bytes == 0
    assert seen.result.body_bytes_read == 0
    # Server side: the stream had taken in at most what flow control buffers, not
    # the body, and it was left unfinished.
    assert seen.stream_total_bytes < MAX_BODY_BYTES
    assert not seen.stream_at_eof
    assert harness.handed == []


@pytest.mark.parametrize(
    ("config", "credential_headers"),
    [
        (hmac_config(), {}),
        (hmac_config(), {"X-Signature-256": "not-hex"}),
        (
            IngressConfig(auth=AuthConfig(mode=AuthMode.BEARER, secret=SECRET)),
            {"Authorization": "Bearer wrong-token"},
        ),
        (
            IngressConfig(auth=AuthConfig(mode=AuthMode.BEARER, secret=SECRET)),
            {},
        ),
    ],
    ids=["hmac-missing", "hmac-malformed", "bearer-wrong", "bearer-missing"],
)
async def test_refusal_needs_no_body_bytes_at_all(
    harness: Harness, config: IngressConfig, credential_headers: dict[str, str]
) -> None:
    """Declare 50 MB and send none of it: an ingress that read would never answer."""
    harness.config = config
    port = harness.client.server.port
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = "".join(f"{name}: {value}\r\n" for name, value in credential_headers.items())
    writer.write(
        (
            "POST /hook HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{port}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {FIFTY_MB}\r\n"
            f"{head}\r\n"
        ).encode()
    )
    await writer.drain()
    try:
        status_line = await asyncio.wait_for(reader.readline(), timeout=5)
    finally:
        writer.close()
        await writer.wait_closed()

    assert status_line.startswith(b"HTTP/1.1 401")
    assert harness.last.counted_bytes == 0
    assert harness.last.stream_total_bytes == 0


async def test_secret_not_configured_refuses_unread(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    harness.config = IngressConfig(auth=AuthConfig(mode=AuthMode.HMAC_SHA256))
    body, headers = signed({"a": 1})
    with caplog.at_level(logging.WARNING):
        status, answer, _ = await post(harness, body, headers)

    assert status == 401
    assert answer["outcome"] == "not_configured"
    assert harness.last.counted_bytes == 0
    assert "no secret configured" in caplog.text
    assert harness.handed == []


async def test_invalid_signature_is_refused(harness: Harness) -> None:
    body, headers = signed({"a": 1}, secret="another-secret-entirely")
    status, answer, _ = await post(harness, body, headers)

    assert status == 401
    assert answer["outcome"] == "unauthorized"
    assert harness.last.result.reason == "signature invalid"
    assert harness.handed == []


async def test_signature_prefix_accepted_or_required(harness: Harness) -> None:
    body, headers = signed({"a": 1})
    headers["X-Signature-256"] = "sha256=" + headers["X-Signature-256"]
    assert (await post(harness, body, headers))[0] == 202

    harness.config = hmac_config(require_signature_prefix=True)
    body, headers = signed({"a": 2}, delivery="d-2")
    status, _, _ = await post(harness, body, headers)
    assert status == 401
    assert harness.last.result.reason == "signature malformed"
    assert harness.last.counted_bytes == 0


# --- Bounded body -------------------------------------------------------------------------


async def test_declared_oversize_answers_413_without_reading(harness: Harness) -> None:
    body = b'{"a": "' + b"x" * (2 * MAX_BODY_BYTES) + b'"}'
    headers = {
        "Content-Type": "application/json",
        "X-Signature-256": sign(SECRET, body),
    }
    status, answer, _ = await post(harness, body, headers)

    assert status == 413
    assert answer["outcome"] == "too_large"
    assert harness.last.counted_bytes == 0
    assert harness.handed == []


async def test_chunked_oversize_stops_at_the_bound(harness: Harness) -> None:
    chunk = b"y" * READ_CHUNK_BYTES
    body = chunk * 48  # 3 MiB

    async def chunked() -> AsyncIterator[bytes]:
        for _ in range(48):
            yield chunk

    headers = {
        "Content-Type": "application/json",
        "X-Signature-256": sign(SECRET, body),
    }
    async with harness.client.post(
        "/hook", data=chunked(), headers=headers
    ) as response:
        assert response.status == 413

    seen = harness.last
    assert seen.result.reason == "body too large"
    assert MAX_BODY_BYTES < seen.counted_bytes <= MAX_BODY_BYTES + READ_CHUNK_BYTES
    assert harness.handed == []


async def test_custom_bound_accepts_exactly_the_limit(harness: Harness) -> None:
    payload = {"pad": "z" * 100}
    body = json.dumps(payload).encode()
    harness.config = hmac_config(max_body_bytes=len(body))
    headers = {
        "Content-Type": "application/json",
        "X-Signature-256": sign(SECRET, body),
    }
    assert (await post(harness, body, headers))[0] == 202


async def test_slow_body_times_out(harness: Harness) -> None:
    harness.config = IngressConfig(
        auth=AuthConfig(mode=AuthMode.NONE), read_timeout=0.2
    )
    release = asyncio.Event()

    async def trickle() -> AsyncIterator[bytes]:
        yield b'{"a":'
        await release.wait()
        yield b"1}"

    async with harness.client.post(
        "/hook", data=trickle(), headers={"Content-Type": "application/json"}
    ) as response:
        status = response.status
    release.set()
    assert status == 408
    assert harness.last.result.outcome is Outcome.TIMEOUT


# --- Parsing --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'{"a": ', "body is not valid JSON"),
        (b"[1, 2, 3]", "body is not a JSON object"),
        (b'{"a": "\xff\xfe"}', "body is not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "body is not valid JSON"),
        (
            json.dumps({"a": [[[[{}]]]]})
            .encode()
            .replace(b"{}", b"[" * 70 + b"]" * 70),
            "",
        ),
    ],
    ids=["truncated", "array", "not-utf8", "deep-bomb", "too-deep"],
)
async def test_malformed_json_is_400_without_hand_off(
    harness: Harness, raw: bytes, reason: str
) -> None:
    headers = {"Content-Type": "application/json", "X-Signature-256": sign(SECRET, raw)}
    status, answer, _ = await post(harness, raw, headers)

    assert status == 400
    assert answer["outcome"] == "bad_request"
    if reason:
        assert harness.last.result.reason == reason
    assert harness.handed == []


async def test_generic_form_body_becomes_flat_fields(harness: Harness) -> None:
    harness.config = IngressConfig(
        auth=AuthConfig(mode=AuthMode.NONE), form_payload_field=None
    )
    body = urlencode([("title", "Hi"), ("tag", "a"), ("tag", "b")]).encode()
    status, _, _ = await post(
        harness, body, {"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert status == 202
    assert harness.handed[0].payload == {"title": "Hi", "tag": ["a", "b"]}


async def test_form_with_too_many_fields_is_400(harness: Harness) -> None:
    harness.config = IngressConfig(auth=AuthConfig(mode=AuthMode.NONE))
    body = urlencode([(f"f{i}", "v") for i in range(500)]).encode()
    status, _, _ = await post(
        harness, body, {"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert status == 400
    assert harness.last.result.reason == "form body malformed"


async def test_method_and_content_type_come_first(harness: Harness) -> None:
    async with harness.client.get("/hook") as response:
        assert response.status == 405
    assert harness.last.result.outcome is Outcome.METHOD_NOT_ALLOWED

    status, answer, _ = await post(
        harness, b"hello", {"Content-Type": "text/plain", "X-Signature-256": "x"}
    )
    assert status == 415
    assert answer["outcome"] == "unsupported_media_type"
    assert harness.last.counted_bytes == 0


async def test_json_suffix_content_type_is_json(harness: Harness) -> None:
    body, headers = signed({"a": 1})
    headers["Content-Type"] = "application/vnd.acme.event+json; charset=utf-8"
    assert (await post(harness, body, headers))[0] == 202


# --- Timestamps ------------------------------------------------------------------------------


def timestamped(
    ts: str, payload: Any, *, signed_ts: str | None = None
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    material = (signed_ts if signed_ts is not None else ts).encode() + b"." + body
    return body, {
        "Content-Type": "application/json",
        "X-Signature-256": sign(SECRET, material),
        "X-Timestamp": ts,
    }


@pytest.mark.parametrize(
    ("offset", "status"),
    [(0, 202), (-299, 202), (299, 202), (-301, 401), (301, 401), (-86_400, 401)],
)
async def test_timestamp_window(harness: Harness, offset: int, status: int) -> None:
    now = 1_800_000_000.0
    harness.clock = lambda: now
    harness.config = hmac_config(timestamp_header="X-Timestamp")
    body, headers = timestamped(str(int(now + offset)), {"a": 1})
    assert (await post(harness, body, headers))[0] == status
    if status == 401:
        assert harness.last.result.reason == "timestamp outside the allowed window"
        assert harness.last.counted_bytes == 0


@pytest.mark.parametrize("value", ["", "yesterday", "nan", "inf"])
async def test_timestamp_missing_or_invalid(harness: Harness, value: str) -> None:
    harness.config = hmac_config(timestamp_header="X-Timestamp")
    body, headers = timestamped(value, {"a": 1})
    if not value:
        del headers["X-Timestamp"]
    assert (await post(harness, body, headers))[0] == 401
    assert harness.last.counted_bytes == 0


async def test_fresh_timestamp_cannot_reuse_an_old_signature(harness: Harness) -> None:
    now = 1_800_000_000.0
    harness.clock = lambda: now
    harness.config = hmac_config(timestamp_header="X-Timestamp")
    body, headers = timestamped(str(int(now)), {"a": 1}, signed_ts=str(int(now - 900)))
    status, _, _ = await post(harness, body, headers)
    assert status == 401
    assert harness.last.result.reason == "signature invalid"


async def test_timestamp_outside_signature_when_configured(harness: Harness) -> None:
    now = 1_800_000_000.0
    harness.clock = lambda: now
    harness.config = hmac_config(timestamp_header="X-Timestamp", timestamp_signed=False)
    body, headers = signed({"a": 1}, **{"X-Timestamp": str(int(now))})
    assert (await post(harness, body, headers))[0] == 202


# --- Replays and hand-off failures -----------------------------------------------------------


async def test_replay_is_acknowledged_without_second_hand_off(harness: Harness) -> None:
    body, headers = signed({"a": 1}, delivery="same-delivery")
    first = await post(harness, body, headers)
    second = await post(harness, body, headers)

    assert first[0] == 202
    assert second[0] == 200
    assert second[1]["outcome"] == "duplicate"
    assert len(harness.handed) == 1
    assert "same-delivery" in harness.guard  # type: ignore[operator]


async def test_replay_is_checked_only_after_authentication(harness: Harness) -> None:
    body, headers = signed({"a": 1}, delivery="probe", secret="wrong-secret-value")
    assert (await post(harness, body, headers))[0] == 401
    assert "probe" not in harness.guard  # type: ignore[operator]


async def test_failed_hand_off_is_500_and_retry_gets_through(harness: Harness) -> None:
    calls: list[InboundWebhook] = []

    async def flaky(inbound: InboundWebhook) -> None:
        calls.append(inbound)
        if len(calls) == 1:
            raise RuntimeError("dispatcher down")

    harness.handoff = flaky
    body, headers = signed({"a": 1}, delivery="retry-me")
    assert (await post(harness, body, headers))[0] == 500
    assert (await post(harness, body, headers))[0] == 202
    assert len(calls) == 2


async def test_payload_error_from_hand_off_is_400(harness: Harness) -> None:
    async def picky(inbound: InboundWebhook) -> None:
        raise PayloadError("no repository")

    harness.handoff = picky
    body, headers = signed({"a": 1}, delivery="bad-shape")
    status, answer, _ = await post(harness, body, headers)
    assert status == 400
    assert harness.last.result.reason == "no repository"
    assert "bad-shape" not in harness.guard  # type: ignore[operator]


async def test_no_guard_always_hands_off_and_no_id_still_dedupes(
    harness: Harness,
) -> None:
    harness.guard = None
    body, headers = signed({"a": 1}, delivery="x")
    await post(harness, body, headers)
    await post(harness, body, headers)
    harness.guard = ReplayGuard()
    body, headers = signed({"a": 1}, delivery=None)
    await post(harness, body, headers)
    # Without a delivery id the signed body alone identifies the delivery.
    assert (await post(harness, body, headers))[0] == 200
    assert len(harness.handed) == 3


# --- Redaction and request ids ---------------------------------------------------------------


async def test_sensitive_values_never_stored_or_logged(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    harness.config = IngressConfig(
        auth=AuthConfig(
            mode=AuthMode.HMAC_SHA256,
            secret=SECRET,
            signature_header="X-Gitea-Signature",
        ),
        delivery_id_header="X-Gitea-Delivery",
        header_allowlist=frozenset(
            {
                "content-type",
                "x-gitea-event",
                "x-gitea-signature",
                "authorization",
                "x-custom-token",
            }
        ),
    )
    payload = push_payload()
    payload["nested"] = {"password": "hunter2-password", "api_key": "k-123456"}
    body = json.dumps(payload).encode()
    signature = sign(SECRET, body)
    headers = {
        "Content-Type": "application/json",
        "X-Gitea-Event": "push",
        "X-Gitea-Signature": signature,
        "X-Hub-Signature-256": "sha256=" + signature,
        "Authorization": "Bearer bearer-token-value",
        "Cookie": "session=cookie-value",
        "X-Custom-Token": "custom-token-value",
        "X-Gitea-Delivery": "deliv-1",
    }
    with caplog.at_level(logging.DEBUG):
        status, _, _ = await post(harness, body, headers)
        body2, headers2 = body, {**headers, "X-Gitea-Signature": "0" * 64}
        await post(harness, body2, headers2)
    assert status == 202

    inbound = harness.handed[0]
    stored = json.dumps(
        {
            "inbound": inbound.as_dict(),
            "payload": redact_payload(dict(inbound.payload)),
            "repr": repr(inbound),
            "results": [repr(seen.result) for seen in harness.seen],
        }
    )
    for secret_value in (
        signature,
        SECRET,
        "bearer-token-value",
        "cookie-value",
        "custom-token-value",
        "legacy-secret-in-payload",
        "hunter2-password",
        "k-123456",
    ):
        assert secret_value not in stored
        assert secret_value not in caplog.text
    assert inbound.headers == {
        "content-type": "application/json",
        "x-gitea-event": "push",
        "x-gitea-signature": REDACTED,
        "authorization": REDACTED,
        "x-custom-token": REDACTED,
    }
    assert "cookie" not in inbound.headers
    assert inbound.payload["secret"] == REDACTED
    assert inbound.payload["nested"] == {"password": REDACTED, "api_key": REDACTED}
    assert inbound.header("X-Gitea-Event") == "push"


async def test_request_id_is_normalized_and_echoed(harness: Harness) -> None:
    body, headers = signed(
        {"a": 1}, **{"X-Request-Id": "abc<script>alert(1)</script>" + "9" * 100}
    )
    status, answer, response_headers = await post(harness, body, headers)

    assert status == 202
    expected = ("abcscriptalert1script" + "9" * 100)[:MAX_REQUEST_ID_LENGTH]
    assert answer["request_id"] == expected
    assert response_headers["X-Request-Id"] == expected
    assert harness.handed[0].request_id == expected
    assert harness.handed[0].delivery_id == "d-1"


async def test_refusal_without_any_id_has_no_request_id_header(
    harness: Harness,
) -> None:
    status, answer, response_headers = await post(
        harness, b"{}", {"Content-Type": "application/json"}
    )
    assert status == 401
    assert answer["request_id"] is None
    assert "X-Request-Id" not in response_headers


# --- Bearer --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token_header", "value", "status"),
    [
        ("Authorization", f"Bearer {SECRET}", 202),
        ("Authorization", f"bearer {SECRET}", 202),
        ("Authorization", f"Basic {SECRET}", 401),
        ("Authorization", f"Bearer {SECRET}x", 401),
        ("X-Hook-Token", SECRET, 202),
        ("X-Hook-Token", "", 401),
    ],
)
async def test_bearer_modes(
    harness: Harness, token_header: str, value: str, status: int
) -> None:
    harness.config = IngressConfig(
        auth=AuthConfig(mode=AuthMode.BEARER, secret=SECRET, token_header=token_header)
    )
    headers = {"Content-Type": "application/json", token_header: value}
    assert (await post(harness, b'{"a": 1}', headers))[0] == status
    if status == 401:
        assert harness.last.counted_bytes == 0


# --- Pure helpers ---------------------------------------------------------------------------


class FakeClock:
    """A wall clock moved by hand."""

    def __init__(self) -> None:
        """Start at a fixed time."""
        self.now = 1_000_000.0

    def __call__(self) -> float:
        """Return the fake time."""
        return self.now


def test_replay_guard_window_and_bound() -> None:
    clock = FakeClock()
    guard = ReplayGuard(window=100, max_entries=3, clock=clock)
    assert guard.claim("a")
    assert not guard.claim("a")
    clock.now += 50
    assert guard.claim("b")
    clock.now += 51  # "a" is now older than the window
    assert "a" not in guard
    assert guard.claim("a")
    assert guard.claim("c")
    assert guard.claim("d")  # evicts the oldest ("b")
    assert len(guard) == 3
    assert "b" not in guard
    guard.release("d")
    guard.release("never-claimed")
    assert "d" not in guard


def test_replay_guard_round_trip_and_garbage() -> None:
    clock = FakeClock()
    guard = ReplayGuard(window=100, clock=clock)
    guard.claim("x")
    clock.now += 10
    guard.claim("y")
    data = json.loads(json.dumps(guard.as_dict()))
    assert data["version"] == 1

    restored = ReplayGuard.from_dict(data, window=100, clock=clock)
    assert not restored.claim("x")
    assert not restored.claim("y")

    clock.now += 95  # "x" expires, "y" stays
    restored = ReplayGuard.from_dict(data, window=100, clock=clock)
    assert "x" not in restored
    assert "y" in restored

    garbage = {"entries": [["ok", clock.now], "bad", [1, 2], ["no-ts"], ["s", "t"]]}
    assert len(ReplayGuard.from_dict(garbage, clock=clock)) == 1
    assert len(ReplayGuard.from_dict(None, clock=clock)) == 0
    assert len(ReplayGuard.from_dict({"entries": "nope"}, clock=clock)) == 0
    many = {"entries": [[f"k{i}", clock.now + i] for i in range(10)]}
    bounded = ReplayGuard.from_dict(many, max_entries=4, clock=clock)
    assert len(bounded) == 4
    assert "k9" in bounded
    assert "k0" not in bounded


def test_filter_and_redact_helpers() -> None:
    headers = {
        "Content-Type": "application/json",
        "X-Gitea-Event": "push" * 200,
        "X-Signature-256": "abc",
        "X-Unlisted": "dropped",
    }
    kept = filter_headers(
        headers,
        {"content-type", "x-gitea-event", "x-signature-256"},
        sensitive=("X-Signature-256",),
    )
    assert kept["content-type"] == "application/json"
    assert len(kept["x-gitea-event"]) == 256
    assert kept["x-signature-256"] == REDACTED
    assert "x-unlisted" not in kept
    assert redact_payload([{"token": 1}, {"ok": [{"client_secret": 2}]}]) == [
        {"token": REDACTED},
        {"ok": [{"client_secret": REDACTED}]},
    ]
    assert normalize_request_id("") is None
    assert normalize_request_id("<>") is None
    assert normalize_request_id("a.b_c-D") == "a.b_c-D"


def test_path_readers_tolerate_wrong_types() -> None:
    data = {"a": {"b": 1, "t": True, "s": "x", "l": [1], "f": 1.5}}
    assert path_text(data, "a", "b") == "1"
    assert path_text(data, "a", "t") is None
    assert path_text(data, "a", "l") is None
    assert path_text(data, "a", "f") == "1.5"
    assert path_text(data, "a", "s", "deeper") is None
    assert path_int(data, "a", "t") is None
    assert path_int(data, "a", "b") == 1
    assert path_flag(data, "a", "t")
    assert not path_flag(data, "a", "b")
    assert path_list(data, "a", "l") == [1]
    assert path_list(data, "a", "s") == []


def test_result_maps_every_outcome_to_a_status() -> None:
    from custom_components.notify_bridge.sources.ingress import IngressResult

    statuses = {outcome: IngressResult(outcome, "r").status for outcome in Outcome}
    assert statuses[Outcome.ACCEPTED] == 202
    assert statuses[Outcome.DUPLICATE] == 200
    assert statuses[Outcome.ERROR] == 500
    assert all(100 <= status < 600 for status in statuses.values())


async def test_sender_gone_mid_body_hands_nothing_off(harness: Harness) -> None:
    """The test server cancels the handler on disconnect: nothing may be dispatched."""
    harness.config = IngressConfig(auth=AuthConfig(mode=AuthMode.NONE))
    port = harness.client.server.port
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        (
            "POST /hook HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{port}\r\n"
            "Content-Type: application/json\r\n"
            "Content-Length: 1000\r\n\r\n"
            '{"a": '
        ).encode()
    )
    await writer.drain()
    await asyncio.sleep(0.1)
    writer.close()
    await writer.wait_closed()
    await asyncio.sleep(0.1)
    assert harness.handed == []


class _BrokenStream:
    """A request body whose sender vanished (servers without handler cancellation)."""

    async def read(self, n: int = -1) -> bytes:
        raise ConnectionResetError("Connection lost")


class _StubRequest:
    method = "POST"
    headers: dict[str, str] = {  # noqa: RUF012 - read-only stub
        "Content-Type": "application/json",
        "Content-Length": "1000",
    }
    content = _BrokenStream()


async def test_body_cut_short_is_400() -> None:
    handed: list[InboundWebhook] = []

    async def handoff(inbound: InboundWebhook) -> None:
        handed.append(inbound)

    result = await async_receive(
        _StubRequest(),  # type: ignore[arg-type]
        IngressConfig(auth=AuthConfig(mode=AuthMode.NONE)),
        handoff,
    )
    assert result.outcome is Outcome.BAD_REQUEST
    assert result.reason == "body incomplete"
    assert handed == []


async def test_cloud_mock_request_is_read_once_and_bounded() -> None:
    """Cloud webhooks arrive as HA's MockRequest: new stream per access, no length."""
    from homeassistant.util.aiohttp import MockRequest

    handed: list[InboundWebhook] = []

    async def handoff(inbound: InboundWebhook) -> None:
        handed.append(inbound)

    payload = {"pad": "p" * (3 * READ_CHUNK_BYTES)}
    body, headers = signed(payload)
    request = MockRequest(body, mock_source="cloud", method="POST", headers=headers)
    result = await async_receive(request, hmac_config(), handoff)
    assert result.outcome is Outcome.ACCEPTED
    assert handed[0].payload == payload
    assert result.body_bytes_read == len(body)

    big = {"pad": "p" * (MAX_BODY_BYTES + 10)}
    body, headers = signed(big)
    request = MockRequest(body, mock_source="cloud", method="POST", headers=headers)
    result = await async_receive(request, hmac_config(), handoff)
    assert result.outcome is Outcome.TOO_LARGE

    request = MockRequest(
        b"{}",
        mock_source="cloud",
        method="POST",
        headers={"Content-Type": "application/json", "Content-Length": "-5"},
    )
    none_config = IngressConfig(auth=AuthConfig(mode=AuthMode.NONE))
    result = await async_receive(request, none_config, handoff)
    assert result.outcome is Outcome.BAD_REQUEST
    assert result.reason == "content length invalid"


async def test_undecodable_bearer_token_is_401_not_500(harness: Harness) -> None:
    harness.config = IngressConfig(auth=AuthConfig(mode=AuthMode.BEARER, secret=SECRET))
    port = harness.client.server.port
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"POST /hook HTTP/1.1\r\n"
        + f"Host: 127.0.0.1:{port}\r\n".encode()
        + b"Content-Type: application/json\r\n"
        + b"Content-Length: 2\r\n"
        + b"Authorization: Bearer \xff\xfe\r\n\r\n{}"
    )
    await writer.drain()
    try:
        status_line = await asyncio.wait_for(reader.readline(), timeout=5)
    finally:
        writer.close()
        await writer.wait_closed()
    assert status_line.startswith(b"HTTP/1.1 401")
