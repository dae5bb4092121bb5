# ruff: noqa: RUF001 -- Russian is written in Cyrillic
"""Gitea's event types and what the bridge writes about them, in English and Russian.

The default templates follow the reader's `language` (pipeline.i18n.template_by_language);
the action of an issue or pull request comes in every language in the context
(`action_texts`), English also as `action_text`. Russian sentences put the event first
and the person after it, so no verb needs the person's grammatical gender.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from ..pipeline.i18n import template_by_language

PUSH: Final = "push"
CREATE: Final = "create"
DELETE: Final = "delete"
ISSUES: Final = "issues"
ISSUE_COMMENT: Final = "issue_comment"
PULL_REQUEST: Final = "pull_request"
RELEASE: Final = "release"
WORKFLOW_RUN: Final = "workflow_run"
WORKFLOW_JOB: Final = "workflow_job"

_ACTION_EN: Final[Mapping[str, str]] = {
    "opened": "opened",
    "closed": "closed",
    "reopened": "reopened",
    "merged": "merged",
    "edited": "edited",
    "assigned": "assigned",
    "unassigned": "unassigned",
    "label_updated": "updated the labels of",
    "label_cleared": "cleared the labels of",
    "milestoned": "set the milestone of",
    "demilestoned": "cleared the milestone of",
    "synchronized": "pushed to",
    "review_requested": "requested a review on",
    "review_request_removed": "withdrew a review request on",
    "approved": "approved",
    "rejected": "requested changes on",
    "review_comment": "reviewed",
    "reviewed": "reviewed",
    "created": "commented on",
    "deleted": "deleted a comment on",
}

# Russian: what happened, as a noun phrase ("Задача #3 — закрытие (ann)").
_ACTION_RU: Final[Mapping[str, str]] = {
    "opened": "открытие",
    "closed": "закрытие",
    "reopened": "повторное открытие",
    "merged": "слияние",
    "edited": "изменение",
    "assigned": "назначение",
    "unassigned": "снятие назначения",
    "label_updated": "метки изменены",
    "label_cleared": "метки сняты",
    "milestoned": "этап назначен",
    "demilestoned": "этап снят",
    "synchronized": "новые коммиты",
    "review_requested": "запрошено ревью",
    "review_request_removed": "запрос ревью отозван",
    "approved": "одобрено",
    "rejected": "запрошены изменения",
    "review_comment": "комментарий к ревью",
    "reviewed": "ревью",
    "created": "комментарий",
    "deleted": "комментарий удалён",
}
# Workflow and job outcomes, as Gitea names them (an if-chain keeps the template on
# the renderer's fast path, where a dict lookup would not be).
_STATES_RU: Final = (
    ("success", "успешно"),
    ("failure", "с ошибкой"),
    ("cancelled", "отменён"),
    ("skipped", "пропущен"),
    ("in_progress", "выполняется"),
    ("queued", "в очереди"),
    ("waiting", "ожидает"),
    ("completed", "завершён"),
)
_STATE_RU: Final = (
    "".join(
        f"{{% {'if' if i == 0 else 'elif'} state == '{name}' %}}{word}"
        for i, (name, word) in enumerate(_STATES_RU)
    )
    + "{% else %}{{ state }}{% endif %}"
)


def action_texts(action: str | None) -> dict[str, object]:
    """Return the context keys naming an action: English and per language."""
    key = action or ""
    english = _ACTION_EN.get(key, key)
    return {
        "action_text": english,
        "action_texts": {"en": english, "ru": _ACTION_RU.get(key, key)},
    }


# Templates for the sandboxed renderer. No markup in the literal text, so they read
# the same as plain text and as HTML (where the renderer escapes every value).
_EN: Final[Mapping[str, str]] = {
    PUSH: (
        "{{ pusher }} pushed {{ commit_count }} commit"
        "{{ '' if commit_count == 1 else 's' }} to {{ repository }}:{{ branch or ref }}"
        "{% for commit in commits %}\n"
        "• {{ commit.short_id }} {{ commit.title }} ({{ commit.author }})"
        "{% endfor %}"
        "{% if more_commits %}\n… and {{ more_commits }} more{% endif %}"
        "{% if compare_url %}\nCompare: {{ compare_url }}{% endif %}"
    ),
    CREATE: "{{ sender }} created {{ ref_type }} {{ ref }} in {{ repository }}",
    DELETE: "{{ sender }} deleted {{ ref_type }} {{ ref }} in {{ repository }}",
    ISSUES: (
        "{{ sender }} {{ action_text }} issue #{{ issue.number }} in {{ repository }}: "
        "{{ issue.title }}"
        "{% if assignee %}\nAssignee: {{ assignee }}{% endif %}"
        "{% if issue.labels %}\nLabels: {{ issue.labels | join(', ') }}{% endif %}"
        "\n{{ issue.url }}"
    ),
    ISSUE_COMMENT: (
        "{{ sender }} commented on {{ 'pull request' if is_pull else 'issue' }} "
        "#{{ issue.number }} in {{ repository }}: {{ issue.title }}\n"
        "{{ comment.body | truncate(300) }}\n{{ comment.url or issue.url }}"
    ),
    PULL_REQUEST: (
        "{{ sender }} {{ action_text }} pull request #{{ pull_request.number }} in "
        "{{ repository }}: {{ pull_request.title }}"
        "{% if reviewer %}\nReviewer: {{ reviewer }}{% endif %}"
        "{% if review and review.content %}\n{{ review.content | truncate(300) }}"
        "{% endif %}"
        "\n{{ pull_request.head }} → {{ pull_request.base }}"
        "\n{{ pull_request.url }}"
    ),
    RELEASE: (
        "{{ repository }} {{ action }} release {{ release.name or release.tag }}"
        "{% if release.prerelease %} (pre-release){% endif %}"
        "\n{{ release.url }}"
    ),
    WORKFLOW_RUN: (
        "Workflow {{ workflow.name }} {{ workflow.conclusion or workflow.status }} in "
        "{{ repository }}{% if branch %}:{{ branch }}{% endif %}"
        "{% if workflow.title %}\n{{ workflow.title }}{% endif %}"
        "\n{{ workflow.url }}"
    ),
    WORKFLOW_JOB: (
        "Job {{ job.name }} {{ job.conclusion or job.status }} in {{ repository }}"
        "{% if branch %}:{{ branch }}{% endif %}"
        "\n{{ job.url }}"
    ),
}
_FALLBACK_EN: Final = (
    "{{ sender }}: {{ gitea_event }}{% if action %} ({{ action }}){% endif %} "
    "in {{ repository }}"
)

_RU: Final[Mapping[str, str]] = {
    PUSH: (
        "{{ pusher }}: {{ commit_count }} "
        "{{ commit_count | plural('коммит', 'коммита', 'коммитов') }} "
        "в {{ repository }}:{{ branch or ref }}"
        "{% for commit in commits %}\n"
        "• {{ commit.short_id }} {{ commit.title }} ({{ commit.author }})"
        "{% endfor %}"
        "{% if more_commits %}\n… и ещё {{ more_commits }}{% endif %}"
        "{% if compare_url %}\nСравнить: {{ compare_url }}{% endif %}"
    ),
    CREATE: (
        "{{ 'Создана ветка' if ref_type == 'branch' else 'Создан тег' }} {{ ref }} "
        "в {{ repository }} ({{ sender }})"
    ),
    DELETE: (
        "{{ 'Удалена ветка' if ref_type == 'branch' else 'Удалён тег' }} {{ ref }} "
        "в {{ repository }} ({{ sender }})"
    ),
    ISSUES: (
        "Задача #{{ issue.number }} в {{ repository }} — {{ action_texts.ru }} "
        "({{ sender }}): {{ issue.title }}"
        "{% if assignee %}\nИсполнитель: {{ assignee }}{% endif %}"
        "{% if issue.labels %}\nМетки: {{ issue.labels | join(', ') }}{% endif %}"
        "\n{{ issue.url }}"
    ),
    ISSUE_COMMENT: (
        "Комментарий к {{ 'запросу на слияние' if is_pull else 'задаче' }} "
        "#{{ issue.number }} в {{ repository }} ({{ sender }}): {{ issue.title }}\n"
        "{{ comment.body | truncate(300) }}\n{{ comment.url or issue.url }}"
    ),
    PULL_REQUEST: (
        "Запрос на слияние #{{ pull_request.number }} в {{ repository }} — "
        "{{ action_texts.ru }} ({{ sender }}): {{ pull_request.title }}"
        "{% if reviewer %}\nРевьюер: {{ reviewer }}{% endif %}"
        "{% if review and review.content %}\n{{ review.content | truncate(300) }}"
        "{% endif %}"
        "\n{{ pull_request.head }} → {{ pull_request.base }}"
        "\n{{ pull_request.url }}"
    ),
    RELEASE: (
        "{{ repository }}: {{ 'опубликован релиз' if action == 'published' "
        "else 'релиз (' ~ action ~ ')' }} {{ release.name or release.tag }}"
        "{% if release.prerelease %} (предварительный){% endif %}"
        "\n{{ release.url }}"
    ),
    WORKFLOW_RUN: (
        "{% set state = workflow.conclusion or workflow.status %}"
        "Процесс {{ workflow.name }} в {{ repository }}"
        "{% if branch %}:{{ branch }}{% endif %}: "
        + _STATE_RU
        + "{% if workflow.title %}\n{{ workflow.title }}{% endif %}"
        "\n{{ workflow.url }}"
    ),
    WORKFLOW_JOB: (
        "{% set state = job.conclusion or job.status %}"
        "Задание {{ job.name }} в {{ repository }}"
        "{% if branch %}:{{ branch }}{% endif %}: " + _STATE_RU + "\n{{ job.url }}"
    ),
}
_FALLBACK_RU: Final = (
    "{{ sender }}: {{ gitea_event }}{% if action %} ({{ action }}){% endif %} "
    "в {{ repository }}"
)

DEFAULT_TEMPLATES: Final[Mapping[str, str]] = {
    event: template_by_language({"en": _EN[event], "ru": _RU[event]}) for event in _EN
}
FALLBACK_TEMPLATE: Final = template_by_language(
    {"en": _FALLBACK_EN, "ru": _FALLBACK_RU}
)
