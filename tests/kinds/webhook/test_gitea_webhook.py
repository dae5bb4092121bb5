"""Gitea deliveries through Home Assistant's real HTTP server and webhook component."""

from __future__ import annotations

import json
import logging
from typing import Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)

from custom_components.notify_bridge.const import EVENT_BRIDGE_EVENT, EVENT_DISPATCHED
from custom_components.notify_bridge.sources.ingress import MAX_BODY_BYTES, Outcome

from ...sources.webhook.payloads import (
    gitea_request,
    issue_payload,
    pull_request_payload,
    push_payload,
    release_payload,
    sign,
    workflow_run_payload,
)
from .conftest import (
    GITEA_ENTRY_ID,
    GITEA_SECRET,
    GITEA_WEBHOOK_ID,
    endpoint,
    webhook_route,
)

URL = f"/api/webhook/{GITEA_WEBHOOK_ID}"


async def post_gitea(
    client: Any, kind: str, payload: dict[str, Any], **kwargs: Any
) -> Any:
    """Post a signed Gitea delivery; returns the response."""
    secret = kwargs.pop("secret", GITEA_SECRET)
    body, headers = gitea_request(kind, payload, secret, **kwargs)
    return await client.post(URL, data=body, headers=headers)


def messages(calls: list) -> list[str]:
    """Return the messages the legacy notify service received."""
    return [call.data["message"] for call in calls]


async def test_push_with_several_commits(
    hass: HomeAssistant,
    setup_webhooks: Any,
    gitea_entry: MockConfigEntry,
    legacy_notify_calls: list,
) -> None:
    """A push lists its commits, branch and compare link; ids are correlated."""
    client = await setup_webhooks(gitea_entry)
    bridge_events = async_capture_events(hass, EVENT_BRIDGE_EVENT)
    dispatched = async_capture_events(hass, EVENT_DISPATCHED)

    response = await post_gitea(client, "push", push_payload(), delivery="d-push-1")
    await hass.async_block_till_done()

    assert response.status == 202
    assert response.headers["X-Request-Id"] == "d-push-1"
    [message] = messages(legacy_notify_calls)
    payload = push_payload()
    assert message.startswith("alice pushed 3 commits to acme/tools:main")
    for commit in payload["commits"]:
        assert commit["id"][:10] in message
    assert payload["compare_url"] in message
    assert [event.data["request_id"] for event in bridge_events] == ["d-push-1"]
    assert bridge_events[0].data["event_type"] == "push"
    assert dispatched[0].data["summary"]["request_id"] == "d-push-1"
    state = hass.states.get("event.gitea_routed_event")
    assert state is not None
    assert state.attributes["event_type"] == "push"
    assert state.attributes["request_id"] == "d-push-1"
    assert state.attributes["data"]["repository"] == "acme/tools"


@pytest.mark.parametrize(
    ("kind", "payload", "expected"),
    [
        ("issues", issue_payload("opened"), "opened issue #"),
        ("pull_request", pull_request_payload(), "pull request #"),
        ("release", release_payload(), "release"),
        ("workflow_run", workflow_run_payload("failure"), "failure"),
    ],
)
async def test_event_kinds_notify(
    hass: HomeAssistant,
    setup_webhooks: Any,
    gitea_entry: MockConfigEntry,
    legacy_notify_calls: list,
    kind: str,
    payload: dict[str, Any],
    expected: str,
) -> None:
    """Issues, pull requests, releases and workflow failures become notifications."""
    client = await setup_webhooks(gitea_entry)
    response = await post_gitea(client, kind, payload)
    await hass.async_block_till_done()
    assert response.status == 202
    [message] = messages(legacy_notify_calls)
    assert expected in message
    assert "acme/tools" in message


async def test_successful_workflow_is_not_notable(
    hass: HomeAssistant,
    setup_webhooks: Any,
    gitea_entry: MockConfigEntry,
    legacy_notify_calls: list,
) -> None:
    """A route for notable actions skips workflow successes (accepted, not sent)."""
    client = await setup_webhooks(gitea_entry)
    response = await post_gitea(client, "workflow_run", workflow_run_payload("success"))
    await hass.async_block_till_done()
    assert response.status == 202
    assert legacy_notify_calls == []


async def test_form_encoded_body(
    hass: HomeAssistant,
    setup_webhooks: Any,
    gitea_entry: MockConfigEntry,
    legacy_notify_calls: list,
) -> None:
    """Gitea's form body (`payload=`, the JSON inside signed) is accepted."""
    client = await setup_webhooks(gitea_entry)
    response = await post_gitea(client, "issues", issue_payload(), form=True)
    await hass.async_block_till_done()
    assert response.status == 202
    assert len(legacy_notify_calls) == 1


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda h: h.update({"X-Gitea-Signature": "0" * 64}), "invalid"),
        (lambda h: h.pop("X-Gitea-Signature"), "missing"),
        (lambda h: h.update({"X-Gitea-Signature": "not-hex"}), "malformed"),
    ],
)
async def test_bad_signature_refused(
    hass: HomeAssistant,
    setup_webhooks: Any,
    gitea_entry: MockConfigEntry,
    legacy_notify_calls: list,
    mutate: Any,
    reason: str,
) -> None:
    """Invalid, missing or malformed signatures get 401 and no notification."""
    client = await setup_webhooks(gitea_entry)
    bridge_events = async_capture_events(hass, EVENT_BRIDGE_EVENT)
    body, headers = gitea_request("issues", issue_payload(), GITEA_SECRET)
    mutate(headers)
    response = await client.post(URL, data=body, headers=headers)
    await hass.async_block_till_done()
    assert response.status == 401
    assert (await response.json())["outcome"] == "unauthorized"
    assert legacy_notify_calls == []
    assert bridge_events == []


@pytest.mark.parametrize(
    "gitea_data",
    [
        {
            "kind": "gitea",
            "url": "https://git.example",
            "webhook_id": GITEA_WEBHOOK_ID,
            "local_only": False,
            "scan_interval": 0,
        }
    ],
)
async def test_secret_not_configured(
    hass: HomeAssistant,
    setup_webhooks: Any,
    gitea_entry: MockConfigEntry,
    legacy_notify_calls: list,
) -> None:
    """Without a configured secret nothing can authenticate: 401."""
    client = await setup_webhooks(gitea_entry)
    response = await post_gitea(client, "issues", issue_payload())
    assert response.status == 401
    assert endpoint(hass, GITEA_ENTRY_ID).stats.last_outcome is Outcome.NOT_CONFIGURED
    assert legacy_notify_calls == []


async def test_unauthenticated_large_body_is_not_read(
    hass: HomeAssistant,
    setup_webhooks: Any,
    gitea_entry: MockConfigEntry,
    body_reads: Any,
) -> None:
    """A 50 MB POST without a valid signature answers 401 having read no body byte."""
    client = await setup_webhooks(gitea_entry)
    size = 50 * 1024 * 1024
    for headers in (
        {"Content-Type": "application/json"},
        {"Content-Type": "application/json", "X-Gitea-Signature": "ab" * 32},
    ):
        headers["X-Gitea-Event-Type"] = "push"
        response = await client.post(URL, data=b"{" + b" " * size, headers=headers)
        if "X-Gitea-Signature" in headers:
            # A well-formed signature needs the body to be checked: refused as
            # too large before reading (Content-Length over the bound).
            assert response.status == 413
        else:
            assert response.status == 401
    assert body_reads.handled == 2
    assert body_reads.bytes == 0
    assert endpoint(hass, GITEA_ENTRY_ID).stats.body_bytes_read == 0


async def test_oversize_authenticated_body(
    hass: HomeAssistant,
    setup_webhooks: Any,
    gitea_entry: MockConfigEntry,
    body_reads: Any,
    legacy_notify_calls: list,
) -> None:
    """An authenticated body over the bound answers 413, streamed or declared."""
    client = await setup_webhooks(gitea_entry)
    payload = push_payload()
    payload["padding"] = "x" * (MAX_BODY_BYTES + 10)
    body = json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Gitea-Event-Type": "push",
        "X-Gitea-Signature": sign(GITEA_SECRET, body),
    }
    response = await client.post(URL, data=body, headers=headers)
    assert response.status == 413

    async def chunks() -> Any:
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    response = await client.post(URL, data=chunks(), headers=headers)
    assert response.status == 413
    # Streamed without a length: read up to the bound (plus at most one chunk).
    assert MAX_BODY_BYTES < body_reads.bytes <= MAX_BODY_BYTES + 65536
    assert legacy_notify_calls == []


async def test_malformed_json_no_dispatch(
    hass: HomeAssistant,
    setup_webhooks: Any,
    gitea_entry: MockConfigEntry,
    legacy_notify_calls: list,
) -> None:
    """A correctly signed body that is not JSON answers 400 and dispatches nothing."""
    client = await setup_webhooks(gitea_entry)
    bridge_events = async_capture_events(hass, EVENT_BRIDGE_EVENT)
    dispatched = async_capture_events(hass, EVENT_DISPATCHED)
    body = b'{"ref": "refs/heads/main", '
    response = await client.post(
        URL,
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-Gitea-Event-Type": "push",
            "X-Gitea-Delivery": "d-bad-json",
            "X-Gitea-Signature": sign(GITEA_SECRET, body),
        },
    )
    await hass.async_block_till_done()
    assert response.status == 400
    assert bridge_events == dispatched == legacy_notify_calls == []


async def test_missing_event_header_is_bad_request(
    hass: HomeAssistant,
    setup_webhooks: Any,
    gitea_entry: MockConfigEntry,
    legacy_notify_calls: list,
) -> None:
    """A signed delivery without an event type header is refused with 400."""
    client = await setup_webhooks(gitea_entry)
    body, headers = gitea_request("push", push_payload(), GITEA_SECRET)
    headers["X-Gitea-Event-Type"] = ""
    headers["X-Gitea-Event"] = ""
    response = await client.post(URL, data=body, headers=headers)
    assert response.status == 400
    # The refused delivery id is released: a corrected retry gets through.
    response = await post_gitea(client, "push", push_payload())
    await hass.async_block_till_done()
    assert response.status == 202
    assert len(legacy_notify_calls) == 1


async def test_replay_notifies_once_also_after_reload(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    setup_webhooks: Any,
    gitea_entry: MockConfigEntry,
    legacy_notify_calls: list,
) -> None:
    """A repeated delivery id is acknowledged (200) without a second notification."""
    client = await setup_webhooks(gitea_entry)
    first = await post_gitea(client, "issues", issue_payload(), delivery="d-replay")
    second = await post_gitea(client, "issues", issue_payload(), delivery="d-replay")
    await hass.async_block_till_done()
    assert (first.status, second.status) == (202, 200)
    assert (await second.json())["outcome"] == "duplicate"
    assert len(legacy_notify_calls) == 1
    # Persisted before the first delivery was acknowledged.
    stored = hass_storage[f"notify_bridge.webhook.{GITEA_ENTRY_ID}"]["data"]
    assert "d-replay" in [key for key, _ in stored["replay"]["entries"]]

    assert await hass.config_entries.async_reload(gitea_entry.entry_id)
    await hass.async_block_till_done()
    third = await post_gitea(client, "issues", issue_payload(), delivery="d-replay")
    await hass.async_block_till_done()
    assert third.status == 200
    assert len(legacy_notify_calls) == 1


async def test_replay_recognized_after_restart(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    setup_webhooks: Any,
    gitea_entry: MockConfigEntry,
    legacy_notify_calls: list,
) -> None:
    """State persisted by a previous run (same storage) refuses the replay."""
    import time

    hass_storage[f"notify_bridge.webhook.{GITEA_ENTRY_ID}"] = {
        "version": 1,
        "minor_version": 1,
        "key": f"notify_bridge.webhook.{GITEA_ENTRY_ID}",
        "data": {
            "replay": {"version": 1, "entries": [["d-before-restart", time.time()]]},
            "reported": {"version": 1, "entries": []},
            "cursor": None,
        },
    }
    client = await setup_webhooks(gitea_entry)
    response = await post_gitea(
        client, "issues", issue_payload(), delivery="d-before-restart"
    )
    await hass.async_block_till_done()
    assert response.status == 200
    assert legacy_notify_calls == []


@pytest.mark.parametrize(
    "gitea_routes",
    [
        [
            webhook_route(
                {
                    "repositories": ["acme/tools", "acme/other"],
                    "events": ["push", "issues"],
                    "branches": ["main"],
                    "notable_only": True,
                    "template": "{{ event.type }} {{ repository }} {{ branch }}",
                }
            )
        ]
    ],
)
async def test_route_filters(
    hass: HomeAssistant,
    setup_webhooks: Any,
    gitea_entry: MockConfigEntry,
    legacy_notify_calls: list,
) -> None:
    """Repository, event and branch filters; the branch filter spares issues."""
    client = await setup_webhooks(gitea_entry)
    dev = push_payload()
    dev["ref"] = "refs/heads/dev"
    elsewhere = issue_payload()
    elsewhere["repository"] = {**elsewhere["repository"], "full_name": "bob/x"}
    cases = [
        ("push", push_payload(), "d1"),  # main: notified
        ("push", dev, "d2"),  # other branch
        ("issues", issue_payload(), "d3"),  # no branch: notified
        ("issues", elsewhere, "d4"),  # other repository
        ("release", release_payload(), "d5"),  # event not picked
    ]
    for kind, payload, delivery in cases:
        response = await post_gitea(client, kind, payload, delivery=delivery)
        assert response.status == 202
    await hass.async_block_till_done()
    assert messages(legacy_notify_calls) == [
        "push acme/tools main",
        "issues acme/tools",
    ]


async def test_sensitive_headers_never_leak(
    hass: HomeAssistant,
    setup_webhooks: Any,
    gitea_entry: MockConfigEntry,
    legacy_notify_calls: list,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Credentials in headers reach no bus event, log line or the event context."""
    caplog.set_level(logging.DEBUG)
    client = await setup_webhooks(gitea_entry)
    all_events: list[Any] = []
    hass.bus.async_listen("*", all_events.append)
    body, headers = gitea_request("issues", issue_payload(), GITEA_SECRET)
    signature = headers["X-Gitea-Signature"]
    headers |= {
        "Authorization": "Bearer leaked-bearer-value",
        "Cookie": "session=leaked-cookie-value",
        "X-Api-Key": "leaked-api-key-value",
        "X-Request-Id": "req-123",
    }
    response = await client.post(URL, data=body, headers=headers)
    await hass.async_block_till_done()
    assert response.status == 202
    assert len(legacy_notify_calls) == 1
    secrets = ("leaked-bearer-value", "leaked-cookie-value", "leaked-api-key-value")
    dumped = json.dumps([event.as_dict() for event in all_events], default=str)
    for value in (*secrets, signature, GITEA_SECRET):
        assert value not in dumped
        assert value not in caplog.text
    runtime = gitea_entry.runtime_data
    context = json.dumps(dict(runtime.last_event.data), default=str)
    for value in (*secrets, signature):
        assert value not in context
    assert runtime.last_event.request_id == "req-123"


async def test_handler_never_raises(
    hass: HomeAssistant,
    setup_webhooks: Any,
    gitea_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An unexpected error answers 500, not HA's default 200."""
    client = await setup_webhooks(gitea_entry)
    hook = endpoint(hass, GITEA_ENTRY_ID)

    def boom(inbound: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(hook, "parse", boom)
    response = await post_gitea(client, "issues", issue_payload(), delivery="d-boom")
    assert response.status == 500

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("ingress bug")

    monkeypatch.setattr(
        "custom_components.notify_bridge.kinds.shared.webhook_source.async_receive",
        broken,
    )
    response = await post_gitea(client, "issues", issue_payload(), delivery="d-boom2")
    assert response.status == 500


async def test_only_post_and_unload_unregisters(
    hass: HomeAssistant,
    setup_webhooks: Any,
    gitea_entry: MockConfigEntry,
) -> None:
    """GET is refused by the webhook layer; unloading removes the webhook."""
    client = await setup_webhooks(gitea_entry)
    response = await client.put(URL, data=b"{}")
    assert response.status == 405
    assert await hass.config_entries.async_unload(gitea_entry.entry_id)
    assert GITEA_ENTRY_ID not in hass.data.get("notify_bridge_webhooks", {})
    response = await post_gitea(client, "issues", issue_payload())
    # HA answers 200 for unknown webhooks (it does not reveal which exist).
    assert response.status == 200


async def test_unpersisted_claim_is_not_acknowledged(
    hass: HomeAssistant,
    setup_webhooks: Any,
    gitea_entry: MockConfigEntry,
    legacy_notify_calls: list,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """If the replay guard cannot be written, the sender sees 500 and may retry."""
    client = await setup_webhooks(gitea_entry)
    state = endpoint(hass, GITEA_ENTRY_ID).state

    async def failing_save(data: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(state._store, "async_save", failing_save)
    response = await post_gitea(client, "issues", issue_payload(), delivery="d-disk")
    await hass.async_block_till_done()
    assert response.status == 500
    assert legacy_notify_calls == []
    monkeypatch.undo()
    response = await post_gitea(client, "issues", issue_payload(), delivery="d-disk")
    await hass.async_block_till_done()
    assert response.status == 202
    assert len(legacy_notify_calls) == 1


@pytest.mark.parametrize(
    "gitea_routes",
    [
        [
            webhook_route(
                {
                    "repositories": ["acme/tools"],
                    "events": ["push"],
                    "notable_only": True,
                    "template": "typed lower: {{ repository }}",
                }
            ),
            webhook_route(
                {
                    "repositories": ["Acme/Tools", "ACME/TOOLS"],
                    "events": ["push"],
                    "notable_only": True,
                    "template": "typed mixed: {{ repository }}",
                },
                route_id="route_mixed",
            ),
        ]
    ],
)
async def test_repositories_match_in_any_case(
    hass: HomeAssistant,
    setup_webhooks: Any,
    gitea_entry: MockConfigEntry,
    legacy_notify_calls: list,
) -> None:
    """Gitea names ignore case: each route matches either spelling, once."""
    client = await setup_webhooks(gitea_entry)
    mixed = push_payload()
    mixed["repository"] = {**mixed["repository"], "full_name": "Acme/Tools"}
    for payload, delivery in ((mixed, "d-mixed"), (push_payload(), "d-lower")):
        response = await post_gitea(client, "push", payload, delivery=delivery)
        assert response.status == 202
        await hass.async_block_till_done()
    # The display keeps Gitea's spelling; each route notified each push once.
    assert sorted(messages(legacy_notify_calls)) == [
        "typed lower: Acme/Tools",
        "typed lower: acme/tools",
        "typed mixed: Acme/Tools",
        "typed mixed: acme/tools",
    ]
