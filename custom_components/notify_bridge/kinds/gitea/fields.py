"""Field names and choices of the Gitea source's entry and routes."""

from __future__ import annotations

from typing import Final

from ...sources import gitea_texts as gitea

TITLE: Final = "Gitea"
CONF_WEBHOOK_SECRET: Final = "webhook_secret"  # noqa: S105 - a field name
CONF_SCAN_INTERVAL: Final = "scan_interval"
CONF_REPOSITORIES: Final = "repositories"
CONF_BRANCHES: Final = "branches"
CONF_NOTABLE_ONLY: Final = "notable_only"

# Event types a route can pick; all of them by default, notable actions only.
EVENT_TYPES: Final = (
    gitea.PUSH,
    gitea.CREATE,
    gitea.DELETE,
    gitea.ISSUES,
    gitea.ISSUE_COMMENT,
    gitea.PULL_REQUEST,
    gitea.RELEASE,
    gitea.WORKFLOW_RUN,
    gitea.WORKFLOW_JOB,
)
# Event types whose context has a branch; a branch filter applies to these only.
BRANCH_EVENTS: Final = frozenset(
    {
        gitea.PUSH,
        gitea.CREATE,
        gitea.DELETE,
        gitea.PULL_REQUEST,
        gitea.WORKFLOW_RUN,
        gitea.WORKFLOW_JOB,
    }
)
MAX_SCAN_MINUTES: Final = 1440
_REPOSITORY_PARTS: Final = 2
