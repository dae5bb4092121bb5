"""Gitea webhook payloads: typed events, a template context and default templates.

Gitea sends the event in two headers: `X-Gitea-Event` groups several kinds (and is
empty for some, e.g. workflow runs), `X-Gitea-Event-Type` names the exact kind
(`pull_request_review_approved`, `issue_label`, ...). We dispatch on the exact kind
and fall back to the grouped one only when the exact header is absent.

The payload is untrusted even after its signature checked out (a repository name or
commit message is user text), so every field is read defensively: a wrong type reads
as missing instead of raising deep inside a template.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from ..pipeline.models import BridgeEvent, freeze
from .gitea_texts import (
    CREATE,
    DEFAULT_TEMPLATES,
    DELETE,
    FALLBACK_TEMPLATE,
    ISSUE_COMMENT,
    ISSUES,
    PULL_REQUEST,
    PUSH,
    RELEASE,
    WORKFLOW_JOB,
    WORKFLOW_RUN,
    action_texts,
)
from .ingress import (
    MAX_BODY_BYTES,
    AuthConfig,
    AuthMode,
    InboundWebhook,
    IngressConfig,
    PayloadError,
    path_flag as _flag,
    path_get as _get,
    path_int as _number,
    path_list as _list,
    path_text as _text,
)

SOURCE_KIND: Final = "gitea"
EVENT_TYPE_HEADER: Final = "X-Gitea-Event-Type"
EVENT_HEADER: Final = "X-Gitea-Event"
DELIVERY_HEADER: Final = "X-Gitea-Delivery"
SIGNATURE_HEADER: Final = "X-Gitea-Signature"
# Gitea form bodies carry the JSON (the signed material) in this field.
FORM_PAYLOAD_FIELD: Final = "payload"

# Context key routes match repositories on (`owner/name`, lower-cased).
REPOSITORY_KEY: Final = "repository_key"
# Commits listed in a push context; the rest are counted in `more_commits`.
MAX_LISTED_COMMITS: Final = 10
# Workflow conclusions notified by default (successes would be noise).
DEFAULT_WORKFLOW_CONCLUSIONS: Final = frozenset({"failure"})


# Exact kinds folded into the event type a route filters on, with the action they
# imply when the payload's own `action` does not say it (reviews say "reviewed").
_KIND_ALIASES: Final[Mapping[str, tuple[str, str | None]]] = {
    "issue_assign": (ISSUES, None),
    "issue_label": (ISSUES, None),
    "issue_milestone": (ISSUES, None),
    "pull_request_assign": (PULL_REQUEST, None),
    "pull_request_label": (PULL_REQUEST, None),
    "pull_request_milestone": (PULL_REQUEST, None),
    "pull_request_sync": (PULL_REQUEST, "synchronized"),
    "pull_request_review_request": (PULL_REQUEST, None),
    "pull_request_review_approved": (PULL_REQUEST, "approved"),
    "pull_request_review_rejected": (PULL_REQUEST, "rejected"),
    "pull_request_review_comment": (PULL_REQUEST, "review_comment"),
    "pull_request_comment": (ISSUE_COMMENT, None),
    # Grouped names, seen only when X-Gitea-Event-Type is absent.
    "pull_request_approved": (PULL_REQUEST, "approved"),
    "pull_request_rejected": (PULL_REQUEST, "rejected"),
}


_NOTIFIED_ACTIONS: Final[Mapping[str, frozenset[str]]] = {
    ISSUES: frozenset({"opened", "closed", "reopened", "assigned", "label_updated"}),
    ISSUE_COMMENT: frozenset({"created"}),
    PULL_REQUEST: frozenset(
        {
            "opened",
            "closed",
            "merged",
            "reopened",
            "review_requested",
            "approved",
            "rejected",
        }
    ),
    RELEASE: frozenset({"published"}),
}


@dataclass(frozen=True, slots=True)
class GiteaEvent:
    """One Gitea delivery, normalized for routing and rendering."""

    # Event type routes filter on (push, issues, pull_request, ...).
    event_type: str
    # Exact kind from X-Gitea-Event-Type (e.g. pull_request_review_approved).
    kind: str
    action: str | None
    # `owner/name` lower-cased (Gitea names are case-insensitive): what coalescing
    # and the webhook/poll de-duplication key on. Templates show `repository`.
    repository: str | None
    branch: str | None
    sender: str | None
    # Whether a route without its own filter should notify (e.g. failures only).
    notify_by_default: bool
    # Template context (read-only at the top level).
    context: Mapping[str, Any]
    delivery_id: str | None = None

    def to_bridge_event(
        self,
        source_entry_id: str,
        *,
        occurred_at: datetime | None = None,
        request_id: str | None = None,
    ) -> BridgeEvent:
        """Return the pipeline event for this delivery."""
        return BridgeEvent(
            source_entry_id=source_entry_id,
            source_kind=SOURCE_KIND,
            event_type=self.event_type,
            data=self.context,
            occurred_at=occurred_at or datetime.now(UTC),
            request_id=request_id or self.delivery_id,
            item_key=self.repository,
        )


def gitea_ingress_config(
    webhook_secret: str | None, *, max_body_bytes: int = MAX_BODY_BYTES
) -> IngressConfig:
    """Return the ingress settings of a Gitea webhook."""
    return IngressConfig(
        auth=AuthConfig(
            mode=AuthMode.HMAC_SHA256,
            secret=webhook_secret,
            signature_header=SIGNATURE_HEADER,
            signed_form_field=FORM_PAYLOAD_FIELD,
        ),
        max_body_bytes=max_body_bytes,
        delivery_id_header=DELIVERY_HEADER,
        form_payload_field=FORM_PAYLOAD_FIELD,
    )


def default_template(event_type: str) -> str:
    """Return the default message template of an event type."""
    return DEFAULT_TEMPLATES.get(event_type, FALLBACK_TEMPLATE)


def parse_gitea_webhook(inbound: InboundWebhook) -> GiteaEvent:
    """Return the typed event of an authenticated Gitea delivery."""
    kind = (inbound.header(EVENT_TYPE_HEADER) or "").strip() or (
        inbound.header(EVENT_HEADER) or ""
    ).strip()
    return parse_gitea_payload(kind, inbound.payload, inbound.delivery_id)


def parse_gitea_payload(
    kind: str, payload: Mapping[str, Any], delivery_id: str | None = None
) -> GiteaEvent:
    """Return the typed event of a payload of a given kind (webhook or poll)."""
    kind = kind.lower()
    if not kind:
        raise PayloadError("Gitea event type header missing")
    event_type, implied_action = _KIND_ALIASES.get(kind, (kind, None))
    builder = _BUILDERS.get(event_type, _build_other)
    specific = builder(payload, implied_action)
    common = _common_context(payload, kind, event_type)
    context = {**common, **specific}
    context.update(action_texts(context.get("action")))
    notify = _notify_by_default(event_type, context)
    context["notify_by_default"] = notify
    return GiteaEvent(
        event_type=event_type,
        kind=kind,
        action=context.get("action"),
        repository=context.get(REPOSITORY_KEY),
        branch=context.get("branch"),
        sender=context.get("sender"),
        notify_by_default=notify,
        context=freeze(context),
        delivery_id=delivery_id,
    )


def repository_key(name: str | None) -> str | None:
    """Return the form of `owner/name` routes match on: Gitea ignores case in it."""
    text = (name or "").strip()
    return text.casefold() if text else None


# --- Defensive readers -----------------------------------------------------------------


def _user(data: Any, *path: str) -> str | None:
    """Return a user's login (Gitea's `login`, older `username`)."""
    user = _get(data, *path)
    return _text(user, "login") or _text(user, "username") or _text(user, "name")


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else ""


def _strip_ref(ref: str | None) -> tuple[str | None, str | None]:
    """Split `refs/heads/x` / `refs/tags/x` into (branch, tag)."""
    if not ref:
        return None, None
    if ref.startswith("refs/heads/"):
        return ref.removeprefix("refs/heads/"), None
    if ref.startswith("refs/tags/"):
        return None, ref.removeprefix("refs/tags/")
    return ref, None


# --- Context builders ------------------------------------------------------------------


def _common_context(
    payload: Mapping[str, Any], kind: str, event_type: str
) -> dict[str, Any]:
    repository = _text(payload, "repository", "full_name")
    return {
        "gitea_event": kind,
        "event_type": event_type,
        "action": _text(payload, "action"),
        # As Gitea spells it (for display); routes match the lower-cased key.
        "repository": repository,
        REPOSITORY_KEY: repository_key(repository),
        "repository_url": _text(payload, "repository", "html_url"),
        "sender": _user(payload, "sender"),
        "branch": None,
        "url": _text(payload, "repository", "html_url"),
        # A plain dict, so the context stays JSON-friendly for bus events.
        "payload": dict(payload),
    }


def _commit(commit: Any) -> dict[str, Any]:
    commit_id = _text(commit, "id") or ""
    return {
        "id": commit_id,
        "short_id": commit_id[:10],
        "title": _first_line(_text(commit, "message")),
        "message": _text(commit, "message") or "",
        "url": _text(commit, "url"),
        "author": _text(commit, "author", "name")
        or _text(commit, "author", "username")
        or "",
    }


def _build_push(payload: Mapping[str, Any], _: str | None) -> dict[str, Any]:
    ref = _text(payload, "ref")
    branch, tag = _strip_ref(ref)
    commits = [_commit(item) for item in _list(payload, "commits")]
    total = _number(payload, "total_commits")
    count = max(total if total is not None else len(commits), len(commits))
    listed = commits[:MAX_LISTED_COMMITS]
    return {
        "ref": ref,
        "branch": branch,
        "tag": tag,
        "before": _text(payload, "before"),
        "after": _text(payload, "after"),
        "compare_url": _text(payload, "compare_url") or None,
        "pusher": _user(payload, "pusher") or _user(payload, "sender"),
        "commits": listed,
        "commit_count": count,
        "more_commits": count - len(listed),
        "url": _text(payload, "compare_url")
        or _text(payload, "repository", "html_url"),
    }


def _build_ref(payload: Mapping[str, Any], _: str | None) -> dict[str, Any]:
    ref_type = _text(payload, "ref_type")
    ref = _text(payload, "ref")
    branch, tag = _strip_ref(ref)
    if ref_type == "tag":
        branch, tag = None, tag or ref
    return {"ref": ref, "ref_type": ref_type, "branch": branch, "tag": tag}


def _issue(issue: Any) -> dict[str, Any]:
    return {
        "number": _number(issue, "number"),
        "title": _text(issue, "title") or "",
        "body": _text(issue, "body") or "",
        "url": _text(issue, "html_url"),
        "state": _text(issue, "state"),
        "author": _user(issue, "user"),
        "labels": [
            name for label in _list(issue, "labels") if (name := _text(label, "name"))
        ],
        "assignees": [
            login
            for assignee in _list(issue, "assignees")
            if (login := _user(assignee))
        ],
    }


def _build_issues(payload: Mapping[str, Any], implied: str | None) -> dict[str, Any]:
    issue = _issue(_get(payload, "issue"))
    return {
        "action": _text(payload, "action") or implied,
        "issue": issue,
        "assignee": _user(payload, "issue", "assignee") or None,
        "url": issue["url"],
    }


def _build_issue_comment(
    payload: Mapping[str, Any], implied: str | None
) -> dict[str, Any]:
    issue = _issue(_get(payload, "issue"))
    comment = {
        "body": _text(payload, "comment", "body") or "",
        "url": _text(payload, "comment", "html_url"),
        "author": _user(payload, "comment", "user"),
    }
    return {
        "action": _text(payload, "action") or implied,
        "issue": issue,
        "comment": comment,
        "is_pull": _flag(payload, "is_pull")
        or _get(payload, "issue", "pull_request") is not None,
        "url": comment["url"] or issue["url"],
    }


def _pull_action(payload: Mapping[str, Any], implied: str | None) -> str | None:
    action = _text(payload, "action")
    if implied is not None and action in (None, "reviewed"):
        return implied
    if action == "closed" and _flag(payload, "pull_request", "merged"):
        return "merged"
    return action or implied


def _build_pull_request(
    payload: Mapping[str, Any], implied: str | None
) -> dict[str, Any]:
    pull = _get(payload, "pull_request")
    review = _get(payload, "review")
    return {
        "action": _pull_action(payload, implied),
        "pull_request": {
            "number": _number(pull, "number") or _number(payload, "number"),
            "title": _text(pull, "title") or "",
            "body": _text(pull, "body") or "",
            "url": _text(pull, "html_url"),
            "state": _text(pull, "state"),
            "merged": _flag(pull, "merged"),
            "author": _user(pull, "user"),
            "head": _text(pull, "head", "ref") or _text(pull, "head", "label"),
            "base": _text(pull, "base", "ref") or _text(pull, "base", "label"),
        },
        "reviewer": _user(payload, "requested_reviewer"),
        "review": {
            "type": _text(review, "type"),
            "content": _text(review, "content") or "",
        }
        if isinstance(review, Mapping)
        else None,
        "branch": _text(pull, "base", "ref"),
        "url": _text(pull, "html_url"),
    }


def _build_release(payload: Mapping[str, Any], _: str | None) -> dict[str, Any]:
    release = _get(payload, "release")
    return {
        "release": {
            "tag": _text(release, "tag_name"),
            "name": _text(release, "name") or "",
            "body": _text(release, "body") or "",
            "url": _text(release, "html_url"),
            "prerelease": _flag(release, "prerelease"),
            "draft": _flag(release, "draft"),
            "author": _user(release, "author"),
        },
        "branch": _text(release, "target_commitish"),
        "url": _text(release, "html_url"),
    }


def _build_workflow_run(payload: Mapping[str, Any], _: str | None) -> dict[str, Any]:
    run = _get(payload, "workflow_run")
    workflow = {
        "name": _text(payload, "workflow", "name")
        or _text(run, "name")
        or _text(run, "path")
        or "",
        "title": _text(run, "display_title") or "",
        "status": _text(run, "status"),
        "conclusion": _text(run, "conclusion") or None,
        "url": _text(run, "html_url"),
        "run_number": _number(run, "run_number"),
        "event": _text(run, "event"),
        "head_sha": _text(run, "head_sha"),
    }
    return {
        "workflow": workflow,
        "branch": _text(run, "head_branch"),
        "url": workflow["url"],
    }


def _build_workflow_job(payload: Mapping[str, Any], _: str | None) -> dict[str, Any]:
    job_data = _get(payload, "workflow_job")
    job = {
        "name": _text(job_data, "name") or "",
        "status": _text(job_data, "status"),
        "conclusion": _text(job_data, "conclusion") or None,
        "url": _text(job_data, "html_url"),
        "run_id": _number(job_data, "run_id"),
        "run_attempt": _number(job_data, "run_attempt"),
        "head_sha": _text(job_data, "head_sha"),
        "runner": _text(job_data, "runner_name"),
    }
    return {"job": job, "branch": _text(job_data, "head_branch"), "url": job["url"]}


def _build_other(payload: Mapping[str, Any], implied: str | None) -> dict[str, Any]:
    return {"action": _text(payload, "action") or implied}


_BUILDERS: Final[
    Mapping[str, Callable[[Mapping[str, Any], str | None], dict[str, Any]]]
] = {
    PUSH: _build_push,
    CREATE: _build_ref,
    DELETE: _build_ref,
    ISSUES: _build_issues,
    ISSUE_COMMENT: _build_issue_comment,
    PULL_REQUEST: _build_pull_request,
    RELEASE: _build_release,
    WORKFLOW_RUN: _build_workflow_run,
    WORKFLOW_JOB: _build_workflow_job,
}


def _notify_by_default(event_type: str, context: Mapping[str, Any]) -> bool:
    action = context.get("action")
    if event_type == PUSH:
        return bool(context.get("commit_count"))
    if event_type in (CREATE, DELETE):
        return True
    if event_type in (WORKFLOW_RUN, WORKFLOW_JOB):
        block = context.get("workflow") or context.get("job") or {}
        return (
            action == "completed"
            and block.get("conclusion") in DEFAULT_WORKFLOW_CONCLUSIONS
        )
    allowed = _NOTIFIED_ACTIONS.get(event_type)
    return allowed is not None and action in allowed
