"""What a repository route is previewed with: a sample delivery of each event type,
parsed by the Gitea parser (so the sample has exactly the keys a real one has)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ...pipeline.models import BridgeEvent
from ...runtime import RoutePreview
from ...sources import gitea, gitea_texts
from .setup import build_routes

_URL = "https://gitea.example/alice/garden"
_USER = {"login": "alice", "full_name": "Alice"}
_ITEM = {
    "number": 7,
    "title": "Water the tomatoes",
    "body": "They look thirsty.",
    "html_url": f"{_URL}/issues/7",
    "state": "open",
    "user": _USER,
    "labels": [{"name": "garden"}],
    "assignees": [_USER],
}
# One delivery that every event type's parser finds its fields in.
SAMPLE_PAYLOAD: dict[str, Any] = {
    "action": "opened",
    "ref": "refs/heads/main",
    "ref_type": "branch",
    "before": "0" * 40,
    "after": "a1b2c3d4e5" * 4,
    "compare_url": f"{_URL}/compare/0000000000...a1b2c3d4e5",
    "total_commits": 1,
    "commits": [
        {
            "id": "a1b2c3d4e5" * 4,
            "message": "Add watering schedule\n\nTwice a day in summer.",
            "url": f"{_URL}/commit/{'a1b2c3d4e5' * 4}",
            "author": {"name": "Alice", "username": "alice"},
        }
    ],
    "repository": {"full_name": "alice/garden", "html_url": _URL},
    "sender": _USER,
    "pusher": _USER,
    "issue": _ITEM,
    "pull_request": {
        **_ITEM,
        "html_url": f"{_URL}/pulls/7",
        "head": {"ref": "tomatoes"},
        "base": {"ref": "main"},
    },
    "comment": {"body": "Done!", "html_url": f"{_URL}/issues/7#c1", "user": _USER},
    "release": {
        "tag_name": "v1.0",
        "name": "First harvest",
        "body": "Tomatoes.",
        "html_url": f"{_URL}/releases/tag/v1.0",
        "author": _USER,
        "target_commitish": "main",
    },
    "workflow_run": {
        "name": "CI",
        "display_title": "Add watering schedule",
        "status": "completed",
        "conclusion": "success",
        "html_url": f"{_URL}/actions/runs/3",
        "run_number": 3,
        "event": "push",
        "head_branch": "main",
    },
    "workflow_job": {
        "name": "test",
        "status": "completed",
        "conclusion": "success",
        "html_url": f"{_URL}/actions/runs/3/jobs/1",
        "run_id": 3,
        "head_branch": "main",
    },
}
SAMPLE_TIME = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def sample_event(source_entry_id: str, event_type: str) -> BridgeEvent:
    """Return the sample delivery as an event of the given type."""
    parsed = gitea.parse_gitea_payload(event_type or gitea_texts.PUSH, SAMPLE_PAYLOAD)
    return parsed.to_bridge_event(
        source_entry_id, occurred_at=SAMPLE_TIME, request_id="sample"
    )


ROUTE_PREVIEW = RoutePreview(routes=build_routes, sample_event=sample_event)
