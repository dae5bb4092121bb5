"""Text for Telegram: parse modes, titles, cutting long text, the plain fallback.

Telegram's HTML is a small fixed set of tags and entities; everything here treats
exactly that set as markup and every other character as text.
"""

from __future__ import annotations

import html
import re

from ...pipeline.models import Notification, OutputFormat

HTML = "HTML"
MARKDOWN_V2 = "MarkdownV2"
# Parse mode names as a user may type them (compared in lower case).
PARSE_MODES = {"html": HTML, "markdown": MARKDOWN_V2, "markdownv2": MARKDOWN_V2}
PLAIN_NAMES = frozenset({"", "plain", "none", "text"})
# The tags Telegram's HTML parse mode supports (core.telegram.org/bots/api#html-style).
TELEGRAM_TAGS = (
    "b|strong|i|em|u|ins|s|strike|del|span|tg-spoiler|a|tg-emoji|code|pre|blockquote"
)
_TAG = re.compile(rf"<(/?)({TELEGRAM_TAGS})(\s[^<>]*)?>", re.IGNORECASE)
# Entities Telegram decodes: the four named ones and every numeric one.
_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")
# Characters MarkdownV2 reserves (core.telegram.org/bots/api#markdownv2-style).
_MARKDOWN_V2_SPECIAL = re.compile(r"([_*\[\]()~`>#+\-=|{}.!\\])")
# Inside these a cut would break the HTML Telegram parses.
_TAG_OR_ENTITY = re.compile(r"<[^<>]*>|&[#a-zA-Z0-9]+;")


def normalize_parse_mode(value: str | None) -> str | None:
    """Return the Bot API name of a parse mode typed in any case; None = plain."""
    if value is None:
        return None
    key = value.strip().lower()
    if key in PLAIN_NAMES:
        return None
    return PARSE_MODES.get(key, value.strip())


def is_html(parse_mode: str | None) -> bool:
    """Return whether a parse mode is Telegram's HTML (any spelling)."""
    return normalize_parse_mode(parse_mode) == HTML


def resolve_parse_mode(notification: Notification) -> str | None:
    """Return the parse mode: the caller's, else what the output format implies."""
    if notification.parse_mode is not None:
        return normalize_parse_mode(notification.parse_mode)
    if notification.output_format is OutputFormat.HTML:
        return HTML
    if notification.output_format is OutputFormat.MARKDOWN:
        return MARKDOWN_V2
    return None


def compose_text(notification: Notification, parse_mode: str | None) -> str:
    """Return title and message as one text (the title bold in HTML)."""
    message = notification.message.strip()
    if not notification.title:
        return message
    title = notification.title.strip()
    # Titles are plain text: escaped, or a "<" or "&" breaks the parse mode and a
    # crafted title could inject markup (links).
    if parse_mode == HTML:
        title = f"<b>{html.escape(title, quote=False)}</b>"
    elif parse_mode == MARKDOWN_V2:
        title = "*" + _MARKDOWN_V2_SPECIAL.sub(r"\\\1", title) + "*"
    return f"{title}\n{message}".strip()


def html_to_plain(text: str) -> str:
    """Return the text Telegram would show, for HTML it refused to parse.

    Only Telegram's tags and entities are markup: `if a < b and c > d` stays whole.
    """
    without_tags = _TAG.sub("", text)
    return _ENTITY.sub(lambda m: html.unescape(m.group(0)), without_tags)


def open_tags(text: str) -> list[tuple[str, str]]:
    """Return the Telegram tags still open at the end of `text`: (name, opening)."""
    stack: list[tuple[str, str]] = []
    for match in _TAG.finditer(text):
        name = match.group(2).lower()
        if not match.group(1):
            stack.append((name, match.group(0)))
            continue
        for position in range(len(stack) - 1, -1, -1):
            if stack[position][0] == name:
                del stack[position]
                break
    return stack


def split_text(text: str, limit: int, *, html_mode: bool = False) -> list[str]:
    """Split text into chunks of at most `limit` characters.

    Cuts prefer paragraph breaks, then line breaks, then spaces, and never fall inside
    an HTML tag or entity. In HTML, tags open at a cut are closed there and opened
    again in the next chunk, so every chunk is valid and keeps its formatting.
    """
    chunks: list[str] = []
    rest = text
    while len(rest) > limit:
        chunk, rest = split_once(rest, limit, html_mode=html_mode)
        if chunk and (not html_mode or html_to_plain(chunk).strip()):
            chunks.append(chunk)
    if (rest.strip() and (not html_mode or html_to_plain(rest).strip())) or not chunks:
        chunks.append(rest)
    return chunks


def split_once(text: str, limit: int, *, html_mode: bool) -> tuple[str, str]:
    """Return the first chunk (tags closed) and the rest (tags reopened)."""
    budget = limit
    while True:
        cut = _cut_point(text, budget)
        head = text[:cut].rstrip()
        still_open = open_tags(head) if html_mode else []
        closing = "".join(f"</{name}>" for name, _ in reversed(still_open))
        over = len(head) + len(closing) - limit
        if over <= 0 or budget <= 1:
            break
        # Make room for the closing tags and cut again.
        budget -= over
    reopen = "".join(opening for _, opening in still_open)
    return head + closing, reopen + text[cut:].lstrip("\n")


def split_caption(text: str, limit: int, *, html_mode: bool = False) -> tuple[str, str]:
    """Return (caption, continuation) so the caption fits Telegram's limit."""
    if len(text) <= limit:
        return text, ""
    first, rest = split_once(text, limit, html_mode=html_mode)
    return first, rest.strip()


def _cut_point(text: str, limit: int) -> int:
    window = text[:limit]
    for separator in ("\n\n", "\n", " "):
        position = window.rfind(separator)
        if position > limit // 4:
            return _outside_markup(text, position + len(separator))
    return _outside_markup(text, limit)


def _outside_markup(text: str, cut: int) -> int:
    """Move a cut back to the start of a tag or entity it would split."""
    for match in _TAG_OR_ENTITY.finditer(text, max(0, cut - 512), cut + 512):
        if match.start() < cut < match.end():
            return match.start() or cut
    return cut
