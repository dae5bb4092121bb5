"""What a user can do about a Telegram delivery error (the repair issue's advice)."""

from __future__ import annotations

# Markers in a failure message (Telegram's own words, lower case) and the advice key
# naming what to do; the first match wins, so the specific ones come first.
ADVICE_MARKERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("telegram_blocked", ("bot was blocked",)),
    ("telegram_not_member", ("bot was kicked", "bot is not a member")),
    ("telegram_topic_not_found", ("message thread not found",)),
    ("telegram_chat_not_found", ("chat not found",)),
    (
        "telegram_no_rights",
        ("not enough rights", "have no rights", "chat_write_forbidden"),
    ),
    ("telegram_unauthorized", ("unauthorized", "invalid token")),
    ("telegram_deactivated", ("user is deactivated",)),
)


def failure_advice(error: str) -> str | None:
    """Return the advice key for a delivery error, None when there is none."""
    text = error.lower()
    return next(
        (key for key, markers in ADVICE_MARKERS if any(m in text for m in markers)),
        None,
    )
