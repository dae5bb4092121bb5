"""Gitea deliveries end to end: real server, signature, parsing, default templates."""

from __future__ import annotations

from datetime import UTC, datetime
import json
import logging
from typing import Any

import pytest

from custom_components.notify_bridge.pipeline.models import OutputFormat
from custom_components.notify_bridge.pipeline.render import Renderer
from custom_components.notify_bridge.sources import gitea
from custom_components.notify_bridge.sources.gitea import (
    GiteaEvent,
    default_template,
    gitea_ingress_config,
    parse_gitea_payload,
    parse_gitea_webhook,
)
from custom_components.notify_bridge.sources.ingress import (
    REDACTED,
    InboundWebhook,
    PayloadError,
)

from .conftest import SECRET, Harness
from .payloads import (
    create_payload,
    gitea_request,
    issue_comment_payload,
    issue_payload,
    pull_request_payload,
    push_payload,
    release_payload,
    workflow_job_payload,
    workflow_run_payload,
)


@pytest.fixture
def gitea_events(harness: Harness) -> list[GiteaEvent]:
    """Point the harness at a Gitea webhook whose hand-off parses the delivery."""
    events: list[GiteaEvent] = []

    async def handoff(inbound: InboundWebhook) -> None:
        events.append(parse_gitea_webhook(inbound))

    harness.config = gitea_ingress_config(SECRET)
    harness.handoff = handoff
    return events


async def deliver(
    harness: Harness, kind: str, payload: dict[str, Any], **options: Any
) -> int:
    """Send one Gitea delivery; return the status."""
    body, headers = gitea_request(kind, payload, SECRET, **options)
    async with harness.client.post("/hook", data=body, headers=headers) as response:
        return response.status


async def render_both(event: GiteaEvent) -> tuple[str, str]:
    """Render the event's default template as plain text and as HTML."""
    renderer = Renderer()
    bridge = event.to_bridge_event("entry-1")
    context = {**bridge.data, "event": {"type": bridge.event_type}}
    template = default_template(event.event_type)
    return (
        await renderer.async_render(template, context, OutputFormat.PLAIN),
        await renderer.async_render(template, context, OutputFormat.HTML),
    )


@pytest.mark.parametrize("form", [False, True], ids=["json", "form"])
async def test_push_with_several_commits(
    harness: Harness, gitea_events: list[GiteaEvent], form: bool
) -> None:
    assert await deliver(harness, "push", push_payload(), form=form) == 202

    (event,) = gitea_events
    assert event.event_type == "push"
    assert event.repository == "acme/tools"
    assert event.branch == "main"
    assert event.sender == "alice"
    assert event.notify_by_default
    assert event.delivery_id == "5f1a4c2e-0000-4000-8000-000000000001"
    context = event.context
    assert context["commit_count"] == 3
    assert [c["short_id"] for c in context["commits"]] == ["a" * 10, "b" * 10, "c" * 10]
    assert context["commits"][0]["title"] == "Fix the <b>parser</b>"
    assert context["payload"]["secret"] == REDACTED

    plain, html = await render_both(event)
    assert plain.splitlines()[0] == "alice pushed 3 commits to acme/tools:main"
    assert "• aaaaaaaaaa Fix the <b>parser</b> (alice)" in plain
    assert "Compare: https://git.example/acme/tools/compare/000000...cccccc" in plain
    assert "Fix the &lt;b&gt;parser&lt;/b&gt;" in html
    assert "<b>" not in html


async def test_form_body_signed_over_the_form_is_refused(
    harness: Harness, gitea_events: list[GiteaEvent]
) -> None:
    """Gitea signs the JSON in `payload=`, so a signature over the form body is wrong."""
    body, headers = gitea_request("push", push_payload(), SECRET, form=True)
    from .payloads import sign

    headers["X-Gitea-Signature"] = sign(SECRET, body)
    async with harness.client.post("/hook", data=body, headers=headers) as response:
        assert response.status == 401
    assert gitea_events == []


async def test_form_body_without_payload_field_is_refused(
    harness: Harness, gitea_events: list[GiteaEvent]
) -> None:
    from .payloads import sign

    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Gitea-Event-Type": "push",
        "X-Gitea-Signature": sign(SECRET, b"other=1"),
    }
    async with harness.client.post("/hook", data=b"other=1", headers=headers) as resp:
        assert resp.status == 401
    assert harness.last.result.reason == "signed form field missing"


async def test_push_lists_at_most_ten_commits() -> None:
    payload = push_payload()
    payload["commits"] = payload["commits"] * 5
    payload["total_commits"] = 42
    event = parse_gitea_payload("push", payload)
    assert len(event.context["commits"]) == gitea.MAX_LISTED_COMMITS
    assert event.context["more_commits"] == 32
    plain, _ = await render_both(event)
    assert "… and 32 more" in plain


async def test_issue_opened(harness: Harness, gitea_events: list[GiteaEvent]) -> None:
    assert await deliver(harness, "issues", issue_payload()) == 202
    (event,) = gitea_events
    assert (event.event_type, event.action) == ("issues", "opened")
    assert event.notify_by_default
    plain, html = await render_both(event)
    assert plain.startswith(
        "bob opened issue #12 in acme/tools: Crash on <empty> input"
    )
    assert "Labels: bug, p1" in plain
    assert "Assignee: alice" in plain
    assert "Crash on &lt;empty&gt; input" in html


@pytest.mark.parametrize(
    ("kind", "action", "text"),
    [
        ("issue_label", "label_updated", "updated the labels of"),
        ("issue_assign", "assigned", "assigned"),
        ("issue_milestone", "milestoned", "set the milestone of"),
    ],
)
async def test_issue_subkinds_fold_into_issues(
    kind: str, action: str, text: str
) -> None:
    event = parse_gitea_payload(kind, issue_payload(action))
    assert event.event_type == "issues"
    assert event.kind == kind
    assert event.context["action_text"] == text


async def test_issue_comment_on_pull(
    harness: Harness, gitea_events: list[GiteaEvent]
) -> None:
    assert (
        await deliver(harness, "pull_request_comment", issue_comment_payload()) == 202
    )
    (event,) = gitea_events
    assert event.event_type == "issue_comment"
    assert event.notify_by_default
    plain, _ = await render_both(event)
    assert plain.startswith("alice commented on pull request #12 in acme/tools")
    assert "Looks good to me" in plain
    assert plain.endswith("#issuecomment-55")


@pytest.mark.parametrize(
    ("kind", "payload", "action", "first_line"),
    [
        (
            "pull_request",
            pull_request_payload("opened"),
            "opened",
            "bob opened pull request #34 in acme/tools: Speed up the parser",
        ),
        (
            "pull_request",
            pull_request_payload("closed", merged=True),
            "merged",
            "bob merged pull request #34 in acme/tools: Speed up the parser",
        ),
        (
            "pull_request_review_approved",
            pull_request_payload(
                "reviewed",
                review={"type": "pull_request_review_approved", "content": "LGTM"},
            ),
            "approved",
            "bob approved pull request #34 in acme/tools: Speed up the parser",
        ),
        (
            "pull_request_review_rejected",
            pull_request_payload(
                "reviewed",
                review={
                    "type": "pull_request_review_rejected",
                    "content": "Needs work",
                },
            ),
            "rejected",
            "bob requested changes on pull request #34 in acme/tools: Speed up the parser",
        ),
        (
            "pull_request_sync",
            pull_request_payload("synchronized"),
            "synchronized",
            "bob pushed to pull request #34 in acme/tools: Speed up the parser",
        ),
    ],
    ids=["opened", "merged", "approved", "rejected", "sync"],
)
async def test_pull_requests(
    harness: Harness,
    gitea_events: list[GiteaEvent],
    kind: str,
    payload: dict[str, Any],
    action: str,
    first_line: str,
) -> None:
    # Reviews arrive with a grouped X-Gitea-Event that differs from the exact kind.
    grouped = {"pull_request_review_approved": "pull_request_approved"}.get(kind)
    assert await deliver(harness, kind, payload, grouped=grouped) == 202
    (event,) = gitea_events
    assert event.event_type == "pull_request"
    assert event.action == action
    assert event.branch == "main"
    plain, _ = await render_both(event)
    assert plain.splitlines()[0] == first_line
    assert "fast → main" in plain
    assert event.notify_by_default is (action != "synchronized")


async def test_review_requested_names_the_reviewer() -> None:
    payload = pull_request_payload("review_requested")
    payload["requested_reviewer"] = {"login": "carol"}
    event = parse_gitea_payload("pull_request_review_request", payload)
    assert event.action == "review_requested"
    plain, _ = await render_both(event)
    assert "bob requested a review on pull request #34" in plain
    assert "Reviewer: carol" in plain


async def test_release_published(
    harness: Harness, gitea_events: list[GiteaEvent]
) -> None:
    assert await deliver(harness, "release", release_payload()) == 202
    (event,) = gitea_events
    assert (event.event_type, event.action, event.branch) == (
        "release",
        "published",
        "main",
    )
    assert event.notify_by_default
    plain, _ = await render_both(event)
    assert plain == (
        "acme/tools published release Version 1.2\n"
        "https://git.example/acme/tools/releases/tag/v1.2.0"
    )


async def test_workflow_run_failure_is_notified_by_default(
    harness: Harness, gitea_events: list[GiteaEvent]
) -> None:
    # Gitea sends workflow runs with an empty grouped X-Gitea-Event.
    status = await deliver(harness, "workflow_run", workflow_run_payload(), grouped="")
    assert status == 202
    (event,) = gitea_events
    assert event.event_type == "workflow_run"
    assert event.branch == "main"
    assert event.notify_by_default
    assert event.context["notify_by_default"] is True
    plain, _ = await render_both(event)
    assert plain.splitlines()[0] == "Workflow CI failure in acme/tools:main"
    assert plain.endswith("/actions/runs/77")


async def test_workflow_success_is_quiet_by_default() -> None:
    assert not parse_gitea_payload(
        "workflow_run", workflow_run_payload("success")
    ).notify_by_default
    assert not parse_gitea_payload(
        "workflow_job", workflow_job_payload("success")
    ).notify_by_default


async def test_workflow_job_failure() -> None:
    event = parse_gitea_payload("workflow_job", workflow_job_payload())
    assert event.notify_by_default
    plain, _ = await render_both(event)
    assert plain.splitlines()[0] == "Job test failure in acme/tools:main"


@pytest.mark.parametrize(
    ("kind", "ref_type", "line"),
    [
        ("create", "branch", "alice created branch feature-x in acme/tools"),
        ("create", "tag", "alice created tag v1.2.0 in acme/tools"),
        ("delete", "branch", "alice deleted branch feature-x in acme/tools"),
    ],
)
async def test_create_and_delete(kind: str, ref_type: str, line: str) -> None:
    event = parse_gitea_payload(kind, create_payload(ref_type))
    assert event.notify_by_default
    assert event.branch == ("feature-x" if ref_type == "branch" else None)
    assert (await render_both(event))[0] == line


async def test_unknown_kind_uses_the_fallback_template() -> None:
    event = parse_gitea_payload(
        "wiki",
        {
            "action": "created",
            "repository": {"full_name": "acme/tools"},
            "sender": {"username": "bob"},
        },
    )
    assert event.event_type == "wiki"
    assert not event.notify_by_default
    assert (await render_both(event))[0] == "bob: wiki (created) in acme/tools"


async def test_event_type_falls_back_to_grouped_header(
    harness: Harness, gitea_events: list[GiteaEvent]
) -> None:
    body, headers = gitea_request("release", release_payload(), SECRET)
    del headers["X-Gitea-Event-Type"]
    async with harness.client.post("/hook", data=body, headers=headers) as response:
        assert response.status == 202
    assert gitea_events[0].event_type == "release"


async def test_missing_event_headers_is_400(
    harness: Harness, gitea_events: list[GiteaEvent], caplog: pytest.LogCaptureFixture
) -> None:
    body, headers = gitea_request("push", push_payload(), SECRET)
    del headers["X-Gitea-Event-Type"]
    del headers["X-Gitea-Event"]
    with caplog.at_level(logging.DEBUG):
        async with harness.client.post("/hook", data=body, headers=headers) as response:
            assert response.status == 400
    assert gitea_events == []
    assert headers["X-Gitea-Signature"] not in caplog.text


async def test_gitea_replay_notifies_once(
    harness: Harness, gitea_events: list[GiteaEvent]
) -> None:
    assert await deliver(harness, "push", push_payload()) == 202
    assert await deliver(harness, "push", push_payload(), form=True) == 200
    assert len(gitea_events) == 1


def test_parse_rejects_missing_kind() -> None:
    with pytest.raises(PayloadError):
        parse_gitea_payload("", push_payload())


def test_hostile_shapes_read_as_missing() -> None:
    payload = {
        "ref": ["not", "a", "string"],
        "commits": [None, 3, {"id": 5, "message": None, "author": "x"}],
        "total_commits": "many",
        "repository": "acme/tools",
        "sender": None,
    }
    event = parse_gitea_payload("push", payload)
    assert event.repository is None
    assert event.branch is None
    assert event.context["commit_count"] == 3
    assert event.context["commits"][2]["short_id"] == "5"
    assert not parse_gitea_payload("issues", {"issue": "x"}).notify_by_default


def test_bridge_event_carries_context_and_request_id() -> None:
    event = parse_gitea_payload("push", push_payload(), delivery_id="dlv")
    when = datetime(2026, 11, 29, tzinfo=UTC)
    bridge = event.to_bridge_event("entry-1", occurred_at=when)
    assert bridge.source_kind == "gitea"
    assert bridge.event_type == "push"
    assert bridge.request_id == "dlv"
    assert bridge.occurred_at == when
    assert bridge.data["repository"] == "acme/tools"
    assert event.to_bridge_event("e", request_id="rid").request_id == "rid"
    # The context is JSON-friendly once copied (bus events, diagnostics).
    json.dumps(dict(bridge.data))


def test_push_of_a_tag_has_no_branch() -> None:
    payload = push_payload()
    payload["ref"] = "refs/tags/v1.2.0"
    event = parse_gitea_payload("push", payload)
    assert event.branch is None
    assert event.context["tag"] == "v1.2.0"
