"""Payloads in the shapes Gitea and Planka document, and signing helpers.

Gitea: modules/structs/hook.go (PushPayload, IssuePayload, PullRequestPayload,
ReleasePayload, WorkflowRunPayload, WorkflowJobPayload) and the delivery headers of
services/webhook/deliver.go (X-Gitea-Event is the grouped name, X-Gitea-Event-Type the
exact kind; the signature is the hex HMAC-SHA256 of the JSON payload, also when it is
sent form-encoded as `payload=`). Planka: `{event, data: {item, included}, prevData,
user}` as its send-webhooks helper posts it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any
from urllib.parse import urlencode

REPO = {
    "id": 7,
    "name": "tools",
    "full_name": "acme/tools",
    "html_url": "https://git.example/acme/tools",
    "owner": {"id": 1, "login": "acme", "username": "acme"},
}
ALICE = {"id": 2, "login": "alice", "username": "alice", "full_name": "Alice A."}
BOB = {"id": 3, "login": "bob", "username": "bob", "full_name": "Bob B."}


def sign(secret: str, material: bytes) -> str:
    """Return the hex HMAC-SHA256 Gitea puts in X-Gitea-Signature."""
    return hmac.new(secret.encode(), material, hashlib.sha256).hexdigest()


def gitea_request(
    kind: str,
    payload: dict[str, Any],
    secret: str,
    *,
    delivery: str = "5f1a4c2e-0000-4000-8000-000000000001",
    form: bool = False,
    grouped: str | None = None,
) -> tuple[bytes, dict[str, str]]:
    """Return the body and headers of a Gitea delivery, JSON or form-encoded."""
    content = json.dumps(payload, indent=2)
    signature = sign(secret, content.encode())
    headers = {
        "X-Gitea-Delivery": delivery,
        "X-Gitea-Event": kind if grouped is None else grouped,
        "X-Gitea-Event-Type": kind,
        "X-Gitea-Signature": signature,
        "X-Gogs-Signature": signature,
        "X-Hub-Signature-256": "sha256=" + signature,
        "User-Agent": "Go-http-client/1.1",
    }
    if form:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        return urlencode({"payload": content}).encode(), headers
    headers["Content-Type"] = "application/json"
    return content.encode(), headers


def _commit(sha: str, message: str, author: str) -> dict[str, Any]:
    return {
        "id": sha,
        "message": message,
        "url": f"https://git.example/acme/tools/commit/{sha}",
        "author": {
            "name": author,
            "email": f"{author}@example.org",
            "username": author,
        },
        "committer": {"name": author, "email": f"{author}@example.org"},
        "verification": None,
        "timestamp": "2026-11-29T04:00:00Z",
        "added": [],
        "removed": [],
        "modified": ["README.md"],
    }


def push_payload() -> dict[str, Any]:
    """Return a push of three commits to main."""
    commits = [
        _commit("a" * 40, "Fix the <b>parser</b>\n\nLonger body.", "alice"),
        _commit("b" * 40, "Add tests", "bob"),
        _commit("c" * 40, "Bump version", "alice"),
    ]
    return {
        "ref": "refs/heads/main",
        "before": "0" * 40,
        "after": "c" * 40,
        "compare_url": "https://git.example/acme/tools/compare/000000...cccccc",
        "commits": commits,
        "total_commits": 3,
        "head_commit": commits[-1],
        "repository": REPO,
        "pusher": ALICE,
        "sender": ALICE,
        # Deprecated field of old Gitea versions: must never reach logs or the bus.
        "secret": "legacy-secret-in-payload",
    }


def issue_payload(action: str = "opened") -> dict[str, Any]:
    """Return an issues event."""
    return {
        "action": action,
        "number": 12,
        "issue": {
            "id": 120,
            "number": 12,
            "title": "Crash on <empty> input",
            "body": "Steps to reproduce…",
            "html_url": "https://git.example/acme/tools/issues/12",
            "state": "open",
            "user": BOB,
            "labels": [{"id": 1, "name": "bug"}, {"id": 2, "name": "p1"}],
            "assignee": ALICE,
            "assignees": [ALICE],
        },
        "repository": REPO,
        "sender": BOB,
    }


def issue_comment_payload() -> dict[str, Any]:
    """Return an issue_comment event on a pull request."""
    return {
        "action": "created",
        "issue": issue_payload()["issue"],
        "comment": {
            "id": 55,
            "html_url": "https://git.example/acme/tools/issues/12#issuecomment-55",
            "body": "Looks good to me",
            "user": ALICE,
        },
        "repository": REPO,
        "sender": ALICE,
        "is_pull": True,
    }


def pull_request_payload(
    action: str = "opened",
    *,
    merged: bool = False,
    review: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Return a pull_request event (optionally a review)."""
    payload: dict[str, Any] = {
        "action": action,
        "number": 34,
        "pull_request": {
            "id": 340,
            "number": 34,
            "user": BOB,
            "title": "Speed up the parser",
            "body": "Makes it 2x faster.",
            "state": "closed" if merged else "open",
            "html_url": "https://git.example/acme/tools/pulls/34",
            "merged": merged,
            "head": {"label": "fast", "ref": "fast", "sha": "d" * 40},
            "base": {"label": "main", "ref": "main", "sha": "c" * 40},
        },
        "requested_reviewer": None,
        "repository": REPO,
        "sender": BOB,
        "commit_id": "",
        "review": review,
    }
    return payload


def release_payload() -> dict[str, Any]:
    """Return a published release."""
    return {
        "action": "published",
        "release": {
            "id": 9,
            "tag_name": "v1.2.0",
            "target_commitish": "main",
            "name": "Version 1.2",
            "body": "Changelog",
            "html_url": "https://git.example/acme/tools/releases/tag/v1.2.0",
            "draft": False,
            "prerelease": False,
            "author": ALICE,
        },
        "repository": REPO,
        "sender": ALICE,
    }


def workflow_run_payload(conclusion: str = "failure") -> dict[str, Any]:
    """Return a completed workflow_run."""
    return {
        "action": "completed",
        "workflow": {"id": "ci.yml", "name": "CI", "path": ".gitea/workflows/ci.yml"},
        "workflow_run": {
            "id": 77,
            "display_title": "Speed up the parser",
            "path": "ci.yml@refs/heads/main",
            "event": "push",
            "run_attempt": 1,
            "run_number": 41,
            "head_sha": "c" * 40,
            "head_branch": "main",
            "status": "completed",
            "conclusion": conclusion,
            "html_url": "https://git.example/acme/tools/actions/runs/77",
        },
        "repository": REPO,
        "sender": ALICE,
    }


def workflow_job_payload(conclusion: str = "failure") -> dict[str, Any]:
    """Return a completed workflow_job."""
    return {
        "action": "completed",
        "workflow_job": {
            "id": 501,
            "run_id": 77,
            "run_url": "https://git.example/api/v1/repos/acme/tools/actions/runs/77",
            "html_url": "https://git.example/acme/tools/actions/runs/77/jobs/0",
            "name": "test",
            "labels": ["ubuntu-latest"],
            "run_attempt": 1,
            "head_sha": "c" * 40,
            "head_branch": "main",
            "status": "completed",
            "conclusion": conclusion,
            "runner_id": 3,
            "runner_name": "runner-1",
            "steps": [],
        },
        "repository": REPO,
        "sender": ALICE,
    }


def create_payload(ref_type: str = "branch") -> dict[str, Any]:
    """Return a create (branch or tag) event."""
    return {
        "sha": "c" * 40,
        "ref": "feature-x" if ref_type == "branch" else "v1.2.0",
        "ref_type": ref_type,
        "repository": REPO,
        "sender": ALICE,
    }


# --- Planka ---------------------------------------------------------------------------

PLANKA_USER = {"id": "100", "name": "Carol", "username": "carol"}
PROJECT = {"id": "1", "name": "Home"}
BOARD = {"id": "10", "projectId": "1", "name": "Chores"}
TODO = {"id": "20", "boardId": "10", "name": "To do", "type": "active"}
DONE = {"id": "21", "boardId": "10", "name": "Done", "type": "closed"}


def _card(list_id: str) -> dict[str, Any]:
    return {
        "id": "500",
        "boardId": "10",
        "listId": list_id,
        "creatorUserId": "100",
        "name": "Fix the <sink>",
        "description": None,
        "dueDate": None,
    }


def planka_card_created() -> dict[str, Any]:
    """Return a cardCreate delivery."""
    return {
        "event": "cardCreate",
        "data": {
            "item": _card("20"),
            "included": {"projects": [PROJECT], "boards": [BOARD], "lists": [TODO]},
        },
        "user": PLANKA_USER,
    }


def planka_card_moved() -> dict[str, Any]:
    """Return a cardUpdate delivery that moves the card from To do to Done."""
    return {
        "event": "cardUpdate",
        "data": {
            "item": _card("21"),
            "included": {"projects": [PROJECT], "boards": [BOARD], "lists": [DONE]},
        },
        "prevData": {
            "item": _card("20"),
            "included": {"projects": [PROJECT], "boards": [BOARD], "lists": [TODO]},
        },
        "user": PLANKA_USER,
    }


def planka_card_renamed() -> dict[str, Any]:
    """Return a cardUpdate delivery that stays in its list."""
    payload = planka_card_moved()
    payload["prevData"] = {
        "item": {**_card("21"), "name": "Old name"},
        "included": {"projects": [PROJECT], "boards": [BOARD], "lists": [DONE]},
    }
    return payload


def planka_comment_created() -> dict[str, Any]:
    """Return a commentCreate delivery."""
    return {
        "event": "commentCreate",
        "data": {
            "item": {"id": "900", "cardId": "500", "userId": "100", "text": "On it!"},
            "included": {
                "projects": [PROJECT],
                "boards": [BOARD],
                "lists": [TODO],
                "cards": [_card("20")],
            },
        },
        "user": PLANKA_USER,
    }


def planka_task_update(*, completed: bool, was_completed: bool) -> dict[str, Any]:
    """Return a taskUpdate delivery."""
    task = {"id": "700", "taskListId": "600", "name": "Buy soap", "position": 1}
    return {
        "event": "taskUpdate",
        "data": {
            "item": {**task, "isCompleted": completed},
            "included": {
                "projects": [PROJECT],
                "boards": [BOARD],
                "lists": [TODO],
                "cards": [_card("20")],
                "taskLists": [{"id": "600", "cardId": "500", "name": "Tasks"}],
            },
        },
        "prevData": {
            "item": {**task, "isCompleted": was_completed},
            "included": {"taskLists": [{"id": "600", "cardId": "500"}]},
        },
        "user": PLANKA_USER,
    }


def planka_membership_created() -> dict[str, Any]:
    """Return a cardMembershipCreate delivery."""
    return {
        "event": "cardMembershipCreate",
        "data": {
            "item": {"id": "800", "cardId": "500", "userId": "101"},
            "included": {
                "users": [{"id": "101", "name": "Dave", "username": "dave"}],
                "projects": [PROJECT],
                "boards": [BOARD],
                "lists": [TODO],
                "cards": [_card("20")],
            },
        },
        "user": PLANKA_USER,
    }
