"""One rendered text → the text/plain and text/html bodies of a mail.

The pipeline renders a route's template once per destination format; an e-mail
destination asks for HTML (values escaped by the renderer). The plain part is derived
from that render: tags are dropped and entities decoded, so every value reads exactly
as in a PLAIN render, and markup the template wrote (<b>, <a href>) becomes readable
text. A caller that has both renders can pass them as they are (`MailBody`).
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from html.parser import HTMLParser
import re

from ...pipeline.models import Notification, OutputFormat
from .settings import one_line

# Subjects longer than this are cut (characters); RFC 5322 folds, readers truncate.
MAX_SUBJECT = 200
FALLBACK_SUBJECT = "Notification"
_BLOCK_TAGS = frozenset(
    {"p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre"}
)
_DROP_CONTENT = frozenset({"script", "style", "head", "title"})
_PRE_BLOCK = re.compile(r"(<pre\b.*?</pre>)", re.IGNORECASE | re.DOTALL)
_BLANK_LINES = re.compile(r"\n{3,}")
_PLAIN_MODES = frozenset({"", "plain", "none", "text"})


@dataclass(frozen=True, slots=True)
class MailBody:
    """The two renders of one message: plain text, and an HTML fragment."""

    text: str
    html: str

    @classmethod
    def from_renders(cls, *, plain: str, html: str) -> MailBody:
        """Use a PLAIN and an HTML render of the same template as they are."""
        return cls(text=plain.strip(), html=text_breaks_to_html(html.strip()))

    @classmethod
    def from_plain(cls, text: str) -> MailBody:
        """Plain text only: the HTML part is the same text, escaped."""
        text = text.strip()
        return cls(text=text, html=text_breaks_to_html(escape(text, quote=False)))

    @classmethod
    def from_html(cls, html: str) -> MailBody:
        """An HTML render (values escaped): the plain part is its readable text."""
        html = html.strip()
        return cls(text=html_to_text(html), html=text_breaks_to_html(html))


def body_format(notification: Notification) -> OutputFormat:
    """Return how the notification's text is written: the caller's parse mode
    (case-insensitive), else its output format; Markdown is shown as plain text."""
    mode = notification.parse_mode
    if mode is not None:
        return (
            OutputFormat.HTML if mode.strip().lower() == "html" else OutputFormat.PLAIN
        )
    if notification.output_format is OutputFormat.HTML:
        return OutputFormat.HTML
    return OutputFormat.PLAIN


def body_for(notification: Notification, plain_render: str | None = None) -> MailBody:
    """Return the mail bodies of a notification (a digest is one notification too)."""
    if body_format(notification) is OutputFormat.HTML:
        if plain_render is not None:
            return MailBody.from_renders(plain=plain_render, html=notification.message)
        return MailBody.from_html(notification.message)
    return MailBody.from_plain(notification.message)


def subject_for(title: str | None, default: str | None, body: MailBody) -> str:
    """Return a one-line subject: the title, the destination's default, the first
    line of the text. Control characters never survive (no header injection)."""
    for candidate in (title, default, body.text.split("\n", 1)[0]):
        line = one_line(candidate or "")
        if line:
            if len(line) > MAX_SUBJECT:
                line = line[: MAX_SUBJECT - 1] + "…"
            return line
    return FALLBACK_SUBJECT


def text_breaks_to_html(fragment: str) -> str:
    """Turn the line breaks of Telegram-style HTML into <br> (outside <pre>)."""
    parts = _PRE_BLOCK.split(fragment)
    return "".join(
        part if index % 2 else part.replace("\r\n", "\n").replace("\n", "<br>\n")
        for index, part in enumerate(parts)
    )


class _TextExtractor(HTMLParser):
    """Collects the readable text of an HTML fragment; links keep their address."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._links: list[tuple[str | None, int]] = []
        self._dropping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROP_CONTENT:
            self._dropping += 1
        elif tag == "br":
            self.out.append("\n")
        elif tag in _BLOCK_TAGS:
            self._block_break()
        if tag == "li":
            self.out.append("- ")
        if tag == "a":
            self._links.append((dict(attrs).get("href"), len(self.out)))

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROP_CONTENT:
            self._dropping = max(0, self._dropping - 1)
        elif tag in _BLOCK_TAGS:
            self._block_break()
        elif tag == "a" and self._links:
            href, start = self._links.pop()
            label = "".join(self.out[start:]).strip()
            if href and href.startswith(("http://", "https://", "mailto:")):
                shown = href.removeprefix("mailto:")
                if shown != label:
                    self.out.append(f" ({href})" if label else href)

    def handle_data(self, data: str) -> None:
        if not self._dropping:
            self.out.append(data)

    def _block_break(self) -> None:
        if self.out and not "".join(self.out[-2:]).endswith("\n\n"):
            self.out.append("\n")

    def text(self) -> str:
        lines = "".join(self.out).replace("\r\n", "\n").split("\n")
        return _BLANK_LINES.sub(
            "\n\n", "\n".join(line.rstrip() for line in lines)
        ).strip()


def html_to_text(fragment: str) -> str:
    """Return the readable text of an HTML fragment (entities decoded once)."""
    parser = _TextExtractor()
    parser.feed(fragment)
    parser.close()
    return parser.text()
