"""Build the MIME message: alternative text/HTML, inline images, attachments, headers.

Structure (the parts a message does not need are left out):

    multipart/mixed                      only with attachments
      multipart/related                  only with inline images
        multipart/alternative
          text/plain                     the plain render
          text/html                      the HTML render, images by cid:
        image/*  Content-ID, inline, with a file name (shown as attachments by
                 clients that do not display inline images)
      application/*                      attachments

Spam filters look for: a text part matching the HTML, Message-ID in the sender's
domain, Date, no bulk-mail headers (no List-Unsubscribe: this is not a list), and
quoted-printable/base64 bodies only (7-bit clean, no 8BITMIME needed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email import quoprimime
from email.headerregistry import BaseHeader
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from functools import lru_cache
from html import escape
import secrets

from .content import MailBody
from .media import LinkedMedia, MailPart, MediaPlan
from .settings import EmailSettings, one_line, sender_domain

_STYLE = (
    "margin:0;padding:16px;font-family:-apple-system,'Segoe UI',Roboto,Helvetica,"
    "Arial,sans-serif;font-size:15px;line-height:1.5;color:#1f2328;"
)
# RFC 2045 6.7: encoded lines of at most 76 characters.
QP_LINE_LENGTH = 76
# Makes our boundaries unlikely to equal those of a message quoted inside a part.
_BOUNDARY_TOKEN = secrets.token_hex(8)
_IMG_STYLE = "display:block;max-width:100%;height:auto;border:0;margin:12px 0;"


@dataclass(frozen=True, slots=True)
class Recipients:
    """Who gets a mail: To, Cc (in headers) and Bcc (envelope only)."""

    to: tuple[str, ...]
    cc: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Refuse an empty list and anything that is not one plain ASCII address."""
        if not self.to and not self.cc and not self.bcc:
            raise ValueError("no recipients")
        for address in self.envelope:
            sender_domain(address)
            if not address.isascii():
                raise ValueError(f"not an ASCII e-mail address: {address!r}")

    @property
    def envelope(self) -> tuple[str, ...]:
        """Return every address the message is sent to, once each."""
        return tuple(dict.fromkeys((*self.to, *self.cc, *self.bcc)))


def html_document(subject: str, body: MailBody, plan: MediaPlan) -> str:
    """Return the full HTML part: the message, then images, then what was linked."""
    blocks = [f"<div>{body.html}</div>"]
    for part in plan.parts:
        if part.cid:
            blocks.append(_img(part))
    linked = [_linked_html(link) for link in plan.linked]
    if linked:
        blocks.append('<ul style="padding-left:20px;color:#57606a;">')
        blocks.extend(linked)
        blocks.append("</ul>")
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width">'
        f"<title>{escape(subject)}</title></head>\n"
        f'<body style="{_STYLE}">\n' + "\n".join(blocks) + "\n</body></html>\n"
    )


def _img(part: MailPart) -> str:
    alt = escape(part.filename)
    return f'<img src="cid:{part.cid}" alt="{alt}" style="{_IMG_STYLE}">'


def _linked_html(link: LinkedMedia) -> str:
    what = escape(f"{link.item.type} not attached: {link.reason}")
    still = _img(link.still) if link.still else ""
    url = link.item.url
    if not url or not url.startswith(("http://", "https://")):
        return f"<li>{still}{what}</li>"
    href = escape(url, quote=True)
    if still:
        still = f'<a href="{href}">{still}</a>'
    return f'<li>{still}{what} — <a href="{href}">open</a></li>'


def plain_document(body: MailBody, plan: MediaPlan) -> str:
    """Return the text part: the message, then a line per linked item."""
    lines = [body.text]
    if plan.parts:
        names = ", ".join(p.filename for p in plan.parts)
        lines.append(f"Attached: {names}")
    for link in plan.linked:
        line = f"{link.item.type} not attached: {link.reason}"
        if link.item.url:
            line += f"\n  {one_line(link.item.url)}"
        lines.append(line)
    return "\n\n".join(lines) + "\n"


def build_message(
    settings: EmailSettings,
    recipients: Recipients,
    *,
    subject: str,
    body: MailBody,
    plan: MediaPlan,
    now: datetime,
) -> EmailMessage:
    """Return the complete message (not yet serialized)."""
    msg = EmailMessage(policy=SMTP)
    msg["Content-Type"] = _header("Content-Type", _multipart("alternative"))
    msg.set_payload(
        [
            _text_part("plain", plain_document(body, plan)),
            _text_part("html", html_document(subject, body, plan)),
        ]
    )
    msg = _wrap(msg, "related", plan.inline)
    msg = _wrap(msg, "mixed", plan.attachments)
    for part in msg.walk():
        if part is not msg:
            del part["MIME-Version"]  # only the top level carries it
    msg["MIME-Version"] = _header("MIME-Version", "1.0")
    msg["From"] = _header("From", str(settings.from_address))
    if recipients.to:
        msg["To"] = _header("To", ", ".join(recipients.to))
    if recipients.cc:
        msg["Cc"] = _header("Cc", ", ".join(recipients.cc))
    msg["Subject"] = one_line(subject)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(domain=settings.domain)
    # RFC 3834: vacation responders must not answer an automated notification.
    msg["Auto-Submitted"] = _header("Auto-Submitted", "auto-generated")
    return msg


@lru_cache(maxsize=256)
def _header(name: str, value: str) -> BaseHeader:
    """Return a parsed header, once per value: header objects are immutable, and
    parsing them is most of what building a short mail costs."""
    header: BaseHeader = SMTP.header_factory(name, value)  # typeshed: Any
    return header


def _multipart(kind: str) -> str:
    # "=_" cannot occur in quoted-printable or base64 bodies (RFC 2045), so these
    # boundaries never appear in content; no per-message search is needed.
    return f'multipart/{kind}; boundary="=_nb_{kind}_{_BOUNDARY_TOKEN}"'


def _text_part(subtype: str, text: str) -> EmailMessage:
    """Return a UTF-8 quoted-printable text part.

    Built directly rather than with set_content/add_alternative: those parse and
    rewrite the same headers several times.
    """
    part = EmailMessage(policy=SMTP)
    part["Content-Type"] = _header("Content-Type", f'text/{subtype}; charset="utf-8"')
    part["Content-Transfer-Encoding"] = _header(
        "Content-Transfer-Encoding", "quoted-printable"
    )
    # As the email package's own content manager does: bytes of the charset, one
    # "\n" per line, encoded as latin-1 characters for quoprimime.
    raw = b"\n".join(text.encode("utf-8").splitlines()) + b"\n"
    part.set_payload(quoprimime.body_encode(raw.decode("latin-1"), QP_LINE_LENGTH))
    return part


def _wrap(inner: EmailMessage, kind: str, parts: Sequence[MailPart]) -> EmailMessage:
    """Return `inner` as the first part of a multipart/`kind` holding `parts`
    (`inner` itself when there are none)."""
    if not parts:
        return inner
    outer = EmailMessage(policy=SMTP)
    outer["Content-Type"] = _header("Content-Type", _multipart(kind))
    outer.attach(inner)
    for part in parts:
        if kind == "related":
            outer.add_related(
                part.data,
                maintype=part.maintype,
                subtype=part.subtype,
                filename=part.filename,
                cid=f"<{part.cid}>",
                disposition="inline",
            )
        else:
            outer.add_attachment(
                part.data,
                maintype=part.maintype,
                subtype=part.subtype,
                filename=part.filename,
            )
    return outer


def serialize(msg: EmailMessage) -> bytes:
    """Return the message as sent: CRLF line ends, 7-bit (CPU-heavy with media)."""
    return msg.as_bytes(policy=SMTP)
