"""Constants of Notify Bridge: one place for names, keys, defaults."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

DOMAIN: Final = "notify_bridge"
# Version of config entries (2: one subentry type per kind; no release had 1).
ENTRY_VERSION: Final = 2


class EntryKind(StrEnum):
    """What a config entry is; targets deliver, sources produce events."""

    HOME_ASSISTANT = "home_assistant"
    TELEGRAM = "telegram"
    EMAIL = "email"
    HA_EVENTS = "ha_events"
    IMMICH = "immich"
    GITEA = "gitea"
    PLANKA = "planka"
    WEBHOOK = "webhook"


# Subentry types: each kind its own, so its buttons, titles and errors say what it is.
SUBENTRY_HA_TARGET: Final = "notification_target"
SUBENTRY_TELEGRAM_CHAT: Final = "chat"
SUBENTRY_EMAIL_RECIPIENT: Final = "recipient"
SUBENTRY_HA_EVENTS_ROUTE: Final = "event_route"
SUBENTRY_IMMICH_ROUTE: Final = "album_route"
SUBENTRY_GITEA_ROUTE: Final = "repository_route"
SUBENTRY_PLANKA_ROUTE: Final = "board_route"
SUBENTRY_WEBHOOK_ROUTE: Final = "webhook_route"

# Config entry data
CONF_KIND: Final = "kind"

# Destination subentries of the home_assistant target
CONF_DELIVERY: Final = "delivery"
CONF_NOTIFY_ENTITY: Final = "notify_entity"
CONF_NOTIFY_SERVICE: Final = "notify_service"


class HaDelivery(StrEnum):
    """How a home_assistant destination hands a notification to Home Assistant."""

    PERSISTENT_NOTIFICATION = "persistent_notification"
    NOTIFY_ENTITY = "notify_entity"
    NOTIFY_SERVICE = "notify_service"


# Route subentries
CONF_EVENT_TYPE: Final = "event_type"
CONF_EVENT_DATA: Final = "event_data"
CONF_DESTINATIONS: Final = "destinations"
CONF_EVENTS: Final = "events"
CONF_TEMPLATE: Final = "template"
CONF_TITLE_TEMPLATE: Final = "title_template"

# Every field name whose value is a secret: diagnostics redact these, masks hide them.
SECRET_FIELDS: Final = frozenset(
    {
        "api_key",
        "access_token",
        "bot_token",
        "password",
        "secret",
        "token",
        "webhook_id",
        "webhook_secret",
    }
)

# Bus events
EVENT_BRIDGE_EVENT: Final = "notify_bridge_event"
EVENT_DISPATCHED: Final = "notify_bridge_dispatched"
# After each poll the refresh action or a source's refresh button asked for.
EVENT_REFRESHED: Final = "notify_bridge_refreshed"

# Actions
SERVICE_SEND: Final = "send"
SERVICE_PREVIEW_TEMPLATE: Final = "preview_template"
SERVICE_SEND_DIGEST: Final = "send_digest"

ATTR_DISPATCH_ID: Final = "dispatch_id"
ATTR_STATUS: Final = "status"
ATTR_SUMMARY: Final = "summary"

# Dispatcher signal an entity listens to for its destination's delivery stats.
SIGNAL_DESTINATION_UPDATED: Final = f"{DOMAIN}_destination_updated_{{}}"
SIGNAL_SOURCE_UPDATED: Final = f"{DOMAIN}_source_updated_{{}}"
# Sent with the BridgeEvent each time a source's event is routed (event entities).
SIGNAL_SOURCE_EVENT: Final = f"{DOMAIN}_source_event_{{}}"
# The same, per route that wanted the event (the route's event entity).
SIGNAL_ROUTE_EVENT: Final = f"{DOMAIN}_route_event_{{}}"
# A command, text or button press from a destination's chat (its event entity).
SIGNAL_DESTINATION_INBOUND: Final = f"{DOMAIN}_destination_inbound_{{}}"
EVENT_COMMAND: Final = "notify_bridge_command"
EVENT_MESSAGE: Final = "notify_bridge_message"
EVENT_BUTTON: Final = "notify_bridge_button"
SERVICE_EDIT: Final = "edit"
SERVICE_DELETE: Final = "delete"

# Repair issue ids: a prefix and the id of what the issue is about.
ISSUE_BACKLOG: Final = "backlog"
ISSUE_DESTINATION_FAILING: Final = "destination_failing"
ISSUE_QUIET_HOURS_EMPTY: Final = "quiet_hours_empty"
ISSUE_IMMICH_UNREACHABLE: Final = "immich_unreachable"
ISSUE_ALBUM_DELETED: Final = "album_deleted"
# A route names a destination that no longer exists (one issue per route).
ISSUE_LOST_DESTINATION: Final = "lost_destination"
# Issues about one destination, dropped with it.
DESTINATION_ISSUES: Final = (
    ISSUE_BACKLOG,
    ISSUE_DESTINATION_FAILING,
    ISSUE_QUIET_HOURS_EMPTY,
)


def issue_id(prefix: str, *parts: str) -> str:
    """Return a repair issue id: the prefix and the ids it is about."""
    return "_".join((prefix, *parts))


TEST_MESSAGE: Final = "Test notification from Notify Bridge."

# Delivery policy options. Destinations (every target kind): quiet hours.
CONF_QUIET_START: Final = "quiet_start"
CONF_QUIET_END: Final = "quiet_end"
CONF_QUIET_MODE: Final = "quiet_mode"
CONF_QUIET_WEEKDAYS: Final = "quiet_weekdays"
CONF_MAX_PENDING: Final = "max_pending"
# The language a destination's readers read (built-in texts, default templates);
# LANGUAGE_HA (never stored) means Home Assistant's own language.
CONF_LANGUAGE: Final = "language"
LANGUAGE_HA: Final = "ha"
# Routes (every source kind): coalescing window and how held notifications go out.
CONF_COALESCE_SECONDS: Final = "coalesce_seconds"
CONF_DIGEST: Final = "digest"
SERVICE_FLUSH_DEFERRED: Final = "flush_deferred"
WEEKDAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
