"""What an e-mail target is configured with, its defaults, and which hosts may go plain.

Kept free of Home Assistant: the glue turns entry data into `EmailSettings` and hands
it to the sender; everything below works from these values only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.headerregistry import Address
from enum import StrEnum
import ipaddress
import ssl

from ...net import Resolver, default_resolver, is_public_address

MB = 1024 * 1024
# Attached media per message (raw bytes); beyond it media are linked, not attached.
DEFAULT_MEDIA_BUDGET = 20 * MB
# Seconds an unused connection stays open for the next message.
DEFAULT_IDLE_TIMEOUT = 30.0
# Connections (= messages in flight) to one server at once.
DEFAULT_MAX_CONNECTIONS = 2
# Seconds for connecting and for each SMTP command's reply.
DEFAULT_TIMEOUT = 30.0
# Seconds the whole media download of one message may take.
DEFAULT_DOWNLOAD_BUDGET = 60.0
# Names that are the local network by definition (RFC 6762, RFC 8375, common use).
LOCAL_SUFFIXES = (".local", ".lan", ".home.arpa", ".internal", ".localdomain")


class Security(StrEnum):
    """How the connection is protected."""

    STARTTLS = "starttls"
    SSL = "ssl"
    NONE = "none"


DEFAULT_PORTS = {Security.STARTTLS: 587, Security.SSL: 465, Security.NONE: 25}


@dataclass(frozen=True, slots=True)
class EmailSettings:
    """One SMTP server account: where, how protected, who sends."""

    host: str
    port: int
    security: Security
    sender: str
    sender_name: str | None = None
    username: str | None = None
    # Never in repr, logs or diagnostics.
    password: str | None = field(default=None, repr=False)
    verify_tls: bool = True
    media_budget: int = DEFAULT_MEDIA_BUDGET

    def __post_init__(self) -> None:
        """Refuse a sender address that could not go into a header or envelope."""
        sender_domain(self.sender)

    @property
    def domain(self) -> str:
        """Return the sender's domain (Message-ID and Content-ID right-hand side)."""
        return sender_domain(self.sender)

    @property
    def from_address(self) -> Address:
        """Return the From header value (display name quoted/encoded by `email`)."""
        local, _, domain = self.sender.rpartition("@")
        return Address(
            display_name=one_line(self.sender_name or ""), username=local, domain=domain
        )


def one_line(text: str) -> str:
    """Return text with every control character (CR, LF, tab...) made a space.

    Header values come from event data and user input; a CR/LF would start a new
    header (Bcc:, a second Subject), so none survives.
    """
    cleaned = "".join(" " if ord(ch) < 32 or ord(ch) == 127 else ch for ch in text)
    return " ".join(cleaned.split())


def sender_domain(address: str) -> str:
    """Return the domain of a plain address; ValueError if it is not one."""
    local, at, domain = address.rpartition("@")
    if (
        not at
        or not local
        or not domain
        or one_line(address) != address
        or any(ch in address for ch in ' <>,;"')
    ):
        raise ValueError(f"not a plain e-mail address: {address!r}")
    return domain.lower()


def plain_host_allowed(host: str, addresses: list[str]) -> bool:
    """Return whether unencrypted SMTP to `host` (resolving to `addresses`) stays on
    the LAN: every address must be private/loopback; local names need no answer."""
    try:
        literal = ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        literal = None
    if literal is not None:
        return not is_public_address(literal)
    name = host.lower().rstrip(".")
    if not addresses:
        return name == "localhost" or name.endswith(LOCAL_SUFFIXES)
    return all(
        not is_public_address(ipaddress.ip_address(a.split("%", 1)[0]))
        for a in addresses
    )


async def async_plain_host_allowed(
    host: str, resolver: Resolver = default_resolver
) -> bool:
    """Resolve `host` and say whether security `none` may be used with it."""
    try:
        addresses = await resolver(host, 25)
    except OSError:
        addresses = []
    return plain_host_allowed(host, addresses)


def make_tls_context(verify: bool) -> ssl.SSLContext:
    """Return a client TLS context (blocking: loads the CA store; use an executor)."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context
