"""Every text the bot says in a chat, in the chat's language.

Bot replies are not Home Assistant translations (they go to a Telegram chat in the
destination's language, not to the HA frontend). They live in the one table of
built-in texts (pipeline/i18n_texts.py, keys `bot.*`, with plural forms); this module
keeps the bot's call shape. Replies are sent as plain text (no parse mode), so values
from the bridge (names, notification titles) can never inject markup.
"""

from __future__ import annotations

from ...pipeline import i18n
from ...pipeline.i18n import DEFAULT_LANGUAGE, resolve_language


def text(language: str | None, key: str, **values: object) -> str:
    """Return the bot's message `key` in a language (English when unsupported)."""
    return i18n.text(f"bot.{key}", resolve_language(language), **values)


__all__ = ["DEFAULT_LANGUAGE", "text"]
