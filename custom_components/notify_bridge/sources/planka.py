# ruff: noqa: RUF001 -- Russian is written in Cyrillic
"""Planka webhook payloads: typed events, a template context and default templates.

Planka posts `{event, data: {item, included}, prevData, user}` with a bearer token and
no signature. `included` carries the related records (projects, boards, lists, cards)
as one-element lists. A card moved between lists arrives as `cardUpdate` whose
`prevData.item.listId` differs; it reads as one "card moved" event. Planka also
records most changes as an `actionCreate` (its activity log); those repeat what the
primary event already said and are dropped, so a move is never notified twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from ..net import url_without_credentials
from ..pipeline.i18n import template_by_language
from ..pipeline.models import BridgeEvent, freeze
from .ingress import (
    MAX_BODY_BYTES,
    AuthConfig,
    AuthMode,
    InboundWebhook,
    IngressConfig,
    PayloadError,
    path_flag,
    path_get,
    path_list,
    path_text,
)

SOURCE_KIND: Final = "planka"

CARD_CREATED: Final = "card_created"
CARD_MOVED: Final = "card_moved"
CARD_UPDATED: Final = "card_updated"
COMMENT_CREATED: Final = "comment_created"
TASK_COMPLETED: Final = "task_completed"
TASK_UPDATED: Final = "task_updated"
CARD_MEMBER_ADDED: Final = "card_member_added"

# Planka's activity-log and notification records: they repeat a primary event.
DERIVED_EVENTS: Final = frozenset(
    {"actionCreate", "actionUpdate", "actionDelete", "notificationCreate"}
)
# Events whose `data.item` is the card itself.
_CARD_ITEM_EVENTS: Final = frozenset({"cardCreate", "cardUpdate", "cardDelete"})
# Context key routes match board names on (case-folded).
BOARD_KEY: Final = "board_key"
# Event types a route without its own filter notifies; edits would be noise.
DEFAULT_EVENT_TYPES: Final = frozenset(
    {CARD_CREATED, CARD_MOVED, COMMENT_CREATED, TASK_COMPLETED, CARD_MEMBER_ADDED}
)

_EN: Final[Mapping[str, str]] = {
    CARD_CREATED: (
        '{{ user }} created card "{{ card.name }}" in {{ list.name }} '
        "on {{ board.name }}{% if card.url %}\n{{ card.url }}{% endif %}"
    ),
    CARD_MOVED: (
        '{{ user }} moved "{{ card.name }}" from {{ from_list.name }} to '
        "{{ to_list.name }} on {{ board.name }}"
        "{% if card.url %}\n{{ card.url }}{% endif %}"
    ),
    CARD_UPDATED: (
        '{{ user }} updated "{{ card.name }}" on {{ board.name }}'
        "{% if card.url %}\n{{ card.url }}{% endif %}"
    ),
    COMMENT_CREATED: (
        '{{ user }} commented on "{{ card.name }}" on {{ board.name }}:\n'
        "{{ comment.text | truncate(300) }}"
        "{% if card.url %}\n{{ card.url }}{% endif %}"
    ),
    TASK_COMPLETED: (
        '{{ user }} completed "{{ task.name }}" on "{{ card.name }}" ({{ board.name }})'
    ),
    TASK_UPDATED: (
        '{{ user }} updated task "{{ task.name }}" on "{{ card.name }}" '
        "({{ board.name }})"
    ),
    CARD_MEMBER_ADDED: (
        '{{ user }} added {{ member }} to "{{ card.name }}" on {{ board.name }}'
    ),
}
# Russian: the event first, the person after it (no verb needs their gender).
_RU: Final[Mapping[str, str]] = {
    CARD_CREATED: (
        "Новая карточка «{{ card.name }}» в списке {{ list.name }} "
        "на доске {{ board.name }} ({{ user }})"
        "{% if card.url %}\n{{ card.url }}{% endif %}"
    ),
    CARD_MOVED: (
        "Карточка «{{ card.name }}» перемещена из {{ from_list.name }} в "
        "{{ to_list.name }} на доске {{ board.name }} ({{ user }})"
        "{% if card.url %}\n{{ card.url }}{% endif %}"
    ),
    CARD_UPDATED: (
        "Карточка «{{ card.name }}» изменена на доске {{ board.name }} ({{ user }})"
        "{% if card.url %}\n{{ card.url }}{% endif %}"
    ),
    COMMENT_CREATED: (
        "Комментарий к «{{ card.name }}» на доске {{ board.name }} ({{ user }}):\n"
        "{{ comment.text | truncate(300) }}"
        "{% if card.url %}\n{{ card.url }}{% endif %}"
    ),
    TASK_COMPLETED: (
        "Задача «{{ task.name }}» в «{{ card.name }}» выполнена "
        "({{ board.name }}, {{ user }})"
    ),
    TASK_UPDATED: (
        "Задача «{{ task.name }}» в «{{ card.name }}» изменена "
        "({{ board.name }}, {{ user }})"
    ),
    CARD_MEMBER_ADDED: (
        "В «{{ card.name }}» на доске {{ board.name }} добавлен участник "
        "{{ member }} ({{ user }})"
    ),
}
DEFAULT_TEMPLATES: Final[Mapping[str, str]] = {
    event: template_by_language({"en": _EN[event], "ru": _RU[event]}) for event in _EN
}
FALLBACK_TEMPLATE: Final = template_by_language(
    {
        "en": "{{ user }}: {{ planka_event }} on {{ board.name }}",
        "ru": "{{ user }}: {{ planka_event }}, доска {{ board.name }}",
    }
)


@dataclass(frozen=True, slots=True)
class PlankaEvent:
    """One Planka delivery, normalized for routing and rendering."""

    event_type: str
    # Planka's own event name (cardUpdate, commentCreate, ...).
    planka_event: str
    board_id: str | None
    card_id: str | None
    user: str | None
    notify_by_default: bool
    context: Mapping[str, Any]

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
            request_id=request_id,
            item_key=self.card_id or self.board_id,
        )


def planka_ingress_config(
    access_token: str | None, *, max_body_bytes: int = MAX_BODY_BYTES
) -> IngressConfig:
    """Return the ingress settings of a Planka webhook (bearer token, JSON)."""
    return IngressConfig(
        auth=AuthConfig(mode=AuthMode.BEARER, secret=access_token),
        max_body_bytes=max_body_bytes,
        # Planka sends no delivery id, but every body carries ids and `updatedAt`,
        # so an identical payload is a re-send of the same event, never a new one.
        delivery_id_header=None,
        unique_bodies=True,
        form_payload_field=None,
    )


def default_template(event_type: str) -> str:
    """Return the default message template of an event type."""
    return DEFAULT_TEMPLATES.get(event_type, FALLBACK_TEMPLATE)


def parse_planka_webhook(
    inbound: InboundWebhook, *, base_url: str | None = None
) -> PlankaEvent | None:
    """Return the typed event of an authenticated delivery; None for derived ones."""
    return parse_planka_payload(inbound.payload, base_url=base_url)


def parse_planka_payload(
    payload: Mapping[str, Any], *, base_url: str | None = None
) -> PlankaEvent | None:
    """Return the typed event of a Planka payload; None when it repeats another."""
    name = path_text(payload, "event")
    if not name:
        raise PayloadError("Planka payload has no event name")
    if name in DERIVED_EVENTS:
        return None
    if not isinstance(path_get(payload, "data"), Mapping):
        raise PayloadError("Planka payload has no data object")
    context = _common_context(payload, name, base_url)
    builder = _BUILDERS.get(name, _build_other)
    event_type, specific = builder(payload, context)
    context.update(specific)
    context["event_type"] = event_type
    notify = event_type in DEFAULT_EVENT_TYPES
    context["notify_by_default"] = notify
    return PlankaEvent(
        event_type=event_type,
        planka_event=name,
        board_id=context["board_id"],
        card_id=context["card"]["id"],
        user=context["user"],
        notify_by_default=notify,
        context=freeze(context),
    )


# --- Context builders ------------------------------------------------------------------


def board_key(name: str | None) -> str | None:
    """Return the form of a board name routes match on (any case)."""
    text = (name or "").strip()
    return text.casefold() if text else None


def _included(data: Any, kind: str) -> Mapping[str, Any]:
    """Return the first included record of a kind (Planka sends one-element lists)."""
    records = path_list(data, "included", kind)
    first = records[0] if records else None
    return first if isinstance(first, Mapping) else {}


def _named(record: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": path_text(record, "id"), "name": path_text(record, "name") or ""}


def _card(record: Mapping[str, Any], base_url: str | None) -> dict[str, Any]:
    card_id = path_text(record, "id")
    return {
        "id": card_id,
        "name": path_text(record, "name") or "",
        "description": path_text(record, "description") or "",
        "list_id": path_text(record, "listId"),
        "due_date": path_text(record, "dueDate"),
        # A link sent to chats: never with the configured URL's credentials.
        "url": f"{url_without_credentials(base_url).rstrip('/')}/cards/{card_id}"
        if base_url and card_id
        else None,
    }


def _user_name(user: Any) -> str | None:
    return path_text(user, "name") or path_text(user, "username")


def _common_context(
    payload: Mapping[str, Any], name: str, base_url: str | None
) -> dict[str, Any]:
    data = path_get(payload, "data")
    board = _named(_included(data, "boards"))
    item = path_get(data, "item")
    # Card events carry the card as the item; the others include it.
    card_record = (
        item
        if name in _CARD_ITEM_EVENTS and isinstance(item, Mapping)
        else _included(data, "cards")
    )
    card = _card(card_record, base_url)
    return {
        "planka_event": name,
        "user": _user_name(path_get(payload, "user")),
        "project": _named(_included(data, "projects")),
        "board": board,
        "board_id": board["id"] or path_text(item, "boardId"),
        # The name as typed in a route matches in any case; `board.name` displays.
        BOARD_KEY: board_key(board["name"]),
        "list": _named(_included(data, "lists")),
        "card": card,
        # A plain dict, so the context stays JSON-friendly for bus events.
        "payload": dict(payload),
    }


def _build_card_create(
    payload: Mapping[str, Any], context: Mapping[str, Any]
) -> tuple[str, dict[str, Any]]:
    return CARD_CREATED, {}


def _build_card_update(
    payload: Mapping[str, Any], context: Mapping[str, Any]
) -> tuple[str, dict[str, Any]]:
    new_list = path_text(payload, "data", "item", "listId")
    old_list = path_text(payload, "prevData", "item", "listId")
    if new_list and old_list and new_list != old_list:
        return CARD_MOVED, {
            "from_list": _named(_included(path_get(payload, "prevData"), "lists")),
            "to_list": context["list"],
        }
    return CARD_UPDATED, {}


def _build_comment_create(
    payload: Mapping[str, Any], context: Mapping[str, Any]
) -> tuple[str, dict[str, Any]]:
    return COMMENT_CREATED, {
        "comment": {
            "id": path_text(payload, "data", "item", "id"),
            "text": path_text(payload, "data", "item", "text") or "",
        }
    }


def _build_task_update(
    payload: Mapping[str, Any], context: Mapping[str, Any]
) -> tuple[str, dict[str, Any]]:
    done = path_flag(payload, "data", "item", "isCompleted")
    # Without prevData a completed task is taken as newly completed.
    was_done = path_flag(payload, "prevData", "item", "isCompleted")
    task = {
        "id": path_text(payload, "data", "item", "id"),
        "name": path_text(payload, "data", "item", "name") or "",
        "completed": done,
    }
    return (TASK_COMPLETED if done and not was_done else TASK_UPDATED), {"task": task}


def _build_card_membership_create(
    payload: Mapping[str, Any], context: Mapping[str, Any]
) -> tuple[str, dict[str, Any]]:
    member = _included(path_get(payload, "data"), "users")
    return CARD_MEMBER_ADDED, {
        "member": _user_name(member) or path_text(payload, "data", "item", "userId"),
    }


def _build_other(
    payload: Mapping[str, Any], context: Mapping[str, Any]
) -> tuple[str, dict[str, Any]]:
    return str(context["planka_event"]), {}


_BUILDERS: Final[
    Mapping[
        str,
        Callable[[Mapping[str, Any], Mapping[str, Any]], tuple[str, dict[str, Any]]],
    ]
] = {
    "cardCreate": _build_card_create,
    "cardUpdate": _build_card_update,
    "commentCreate": _build_comment_create,
    "taskUpdate": _build_task_update,
    "cardMembershipCreate": _build_card_membership_create,
}
