"""Every text the bot says in a chat, keyed by language, in one table.

Bot replies are not Home Assistant translations (they go to a Telegram chat in the
destination's language, not to the HA frontend), so they live here. To add a
language, add a key with the same message keys; a missing key falls back to English.
Replies are sent as plain text (no parse mode), so values from the bridge (names,
notification titles) can never inject markup.
"""

from __future__ import annotations

from typing import Final

DEFAULT_LANGUAGE: Final = "en"

MESSAGES: Final[dict[str, dict[str, str]]] = {
    "en": {
        # setMyCommands descriptions (at most 256 characters each).
        "cmd_help": "Show the commands",
        "cmd_status": "Backlog, failed deliveries and sources with problems",
        "cmd_latest": "The last notifications sent here: /latest [n]",
        "cmd_mute": "Hold notifications here: /mute 30m, /mute 2h, /mute 1d",
        "cmd_unmute": "Stop holding; what was held comes as a digest",
        "cmd_flush": "Deliver what is held now",
        "help": (
            "Notify Bridge commands:\n"
            "/status - backlog, failed deliveries, sources with problems\n"
            "/latest [n] - the last n notifications sent to this chat\n"
            "/mute <duration> - hold notifications (e.g. 30m, 2h, 1d)\n"
            "/unmute - stop holding; held notifications come as a digest\n"
            "/flush - deliver what is held now\n"
            "/help - this list"
        ),
        "status_header": "Notify Bridge status",
        "status_destination": "• {name}: {backlog} waiting, {failed} failed",
        "status_muted": "  muted until {until}",
        "status_no_destinations": "No destinations.",
        "status_sources_ok": "All sources are fine.",
        "status_sources": "Sources with problems: {sources}",
        "latest_header": "Last {count} notification(s), newest first:",
        "latest_item": "{when} - {text}",
        "latest_none": "Nothing has been delivered to this chat yet.",
        "latest_usage": "Usage: /latest [n], n from 1 to {max}.",
        "mute_usage": (
            "Usage: /mute <duration>, e.g. /mute 30m, /mute 2h, /mute 1d"
            " (at most {max} days)."
        ),
        "muted": (
            "Muted until {until}. Notifications are held and come as a digest"
            " on /unmute."
        ),
        "unmuted": "Unmuted; {count} held notification(s) sent as a digest.",
        "flushed": "{count} held notification(s) delivered.",
        "no_destination": "This chat is not a destination of this bot.",
        "slow_down": "Slow down: at most {limit} commands per {window} seconds.",
        "failed": "That did not work: {error}",
        "failed_internal": "That did not work; see the Home Assistant log.",
    },
}


def normalize_language(code: str | None) -> str:
    """Return the table key of a language code ("en-GB" → "en"); English if unknown."""
    primary = (code or "").replace("_", "-").split("-", 1)[0].strip().lower()
    return primary if primary in MESSAGES else DEFAULT_LANGUAGE


def text(language: str | None, key: str, **values: object) -> str:
    """Return a message in a language, falling back to English per key."""
    table = MESSAGES[normalize_language(language)]
    template = table.get(key) or MESSAGES[DEFAULT_LANGUAGE][key]
    return template.format(**values) if values else template


__all__ = ["DEFAULT_LANGUAGE", "MESSAGES", "normalize_language", "text"]
