"""The e-mail kind's stored fields and how they become the protocol package's values."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
import re
import ssl
from typing import Any

from homeassistant.const import (
    CONF_HOST,
    CONF_PASSWORD,
    CONF_PORT,
    CONF_SENDER,
    CONF_USERNAME,
    CONF_VERIFY_SSL,
)
from homeassistant.util.ssl import client_context, client_context_no_verify

from ...targets.email import (
    DEFAULT_MEDIA_BUDGET,
    DEFAULT_PORTS,
    EmailSettings,
    Recipients,
    Security,
)
from ...targets.email.settings import MB, one_line

# Entry data (besides host, port, username, password, sender, verify_ssl).
CONF_SECURITY = "security"
CONF_SENDER_NAME = "sender_name"
CONF_MEDIA_BUDGET_MB = "media_budget_mb"
# Recipient subentries.
CONF_TO = "to"
CONF_CC = "cc"
CONF_BCC = "bcc"
CONF_SUBJECT = "subject"
CONF_LANGUAGE = "language"
RECIPIENT_FIELDS = (CONF_TO, CONF_CC, CONF_BCC)
DEFAULT_MEDIA_BUDGET_MB = DEFAULT_MEDIA_BUDGET // MB
MAX_MEDIA_BUDGET_MB = 100
# Server words quoted in a form error are cut to this many characters.
MAX_DETAIL = 200
_SPLIT = re.compile(r"[,;\s]+")


def tls_context(security: Security, verify: bool) -> ssl.SSLContext | None:
    """Return Home Assistant's shared client context (preloaded: no blocking I/O).

    Tests replace this function to trust the fake server's certificate.
    """
    if security is Security.NONE:
        return None
    return client_context() if verify else client_context_no_verify()


def settings_from_data(data: Mapping[str, Any]) -> EmailSettings:
    """Return the settings of entry data (or form input already checked)."""
    security = Security(data[CONF_SECURITY])
    budget_mb = data.get(CONF_MEDIA_BUDGET_MB) or DEFAULT_MEDIA_BUDGET_MB
    return EmailSettings(
        host=str(data[CONF_HOST]).strip(),
        port=int(data.get(CONF_PORT) or DEFAULT_PORTS[security]),
        security=security,
        sender=str(data[CONF_SENDER]).strip(),
        sender_name=data.get(CONF_SENDER_NAME) or None,
        username=data.get(CONF_USERNAME) or None,
        password=data.get(CONF_PASSWORD) or None,
        verify_tls=bool(data.get(CONF_VERIFY_SSL, True)),
        media_budget=int(float(budget_mb) * MB),
    )


def settings_tls(settings: EmailSettings) -> ssl.SSLContext | None:
    """Return the TLS context the settings ask for."""
    return tls_context(settings.security, settings.verify_tls)


def entry_unique_id(settings: EmailSettings) -> str:
    """Return the unique id of an account: host, port and user name."""
    host = settings.host.lower().rstrip(".")
    return f"{host}:{settings.port}:{(settings.username or '').lower()}"


def split_addresses(value: Any) -> list[str]:
    """Return the addresses of a form value: a list, or text split at , ; spaces."""
    if value is None:
        return []
    items: Iterable[Any] = value if isinstance(value, list | tuple) else [value]
    found = [part for item in items for part in _SPLIT.split(str(item)) if part]
    return list(dict.fromkeys(found))


def recipients_from_data(data: Mapping[str, Any]) -> Recipients:
    """Return the recipients of a subentry (ValueError if one is not an address)."""
    return Recipients(
        to=tuple(split_addresses(data.get(CONF_TO))),
        cc=tuple(split_addresses(data.get(CONF_CC))),
        bcc=tuple(split_addresses(data.get(CONF_BCC))),
    )


def recipients_unique_id(recipients: Recipients) -> str:
    """Return a recipient list's unique id: its addresses, sorted, lower case."""
    return ",".join(sorted({address.lower() for address in recipients.envelope}))


def short_detail(text: str) -> str:
    """Return server or OS words fit for a form error: one line, bounded, and no
    angle brackets (a reply quoting an address would read like markup)."""
    line = one_line(text).replace("<", "'").replace(">", "'")
    return line if len(line) <= MAX_DETAIL else line[: MAX_DETAIL - 1] + "…"
