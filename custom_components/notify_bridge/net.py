"""Outbound URL guard (SSRF) and bounded downloads of user-supplied URLs.

Every fetch of a URL that came from a template, a webhook or a service call goes
through `async_fetch`: the host is resolved and every address checked before a byte is
sent, the connection is pinned to a checked address (so a DNS answer that changes
between check and connect cannot reach an internal service), every redirect is
checked the same way, the whole fetch shares one wall-clock budget and the body is
streamed with a byte bound.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
import ipaddress
import re
import socket
import ssl as ssl_module
from typing import Any

import aiohttp
from yarl import URL

from .pipeline.log import get_logger

_LOGGER = get_logger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# Resolves (host, port) to the addresses a connection could go to.
Resolver = Callable[[str, int], Awaitable[list[str]]]
# Receives a body chunk by chunk instead of it being held in memory.
Sink = Callable[[bytes], Awaitable[None]]

# Cloud metadata endpoints: refused even when private addresses are allowed, because
# they hand out credentials; only an explicit allowlist entry lets them through. The
# one list for media URLs and for admin-entered service URLs alike.
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(address)
    for address in (
        "169.254.169.254",  # AWS, Azure, GCP, OpenStack, DigitalOcean, Hetzner, ...
        "fd00:ec2::254",  # AWS (IPv6)
        "fd20:ce::254",  # GCP (IPv6)
        "169.254.170.2",  # AWS ECS task credentials
        "169.254.170.23",  # AWS EKS Pod Identity
        "fd00:ec2::23",  # AWS EKS Pod Identity (IPv6)
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud (classic)
        "168.63.129.16",  # Azure WireServer
    )
)
# Names cloud DNS answers with a metadata address: refused by name too, so the check
# holds where they do not resolve (yet) and whatever a resolver makes of them.
METADATA_HOSTNAMES: frozenset[str] = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",
        "instance-data.ec2.internal",
        "rancher-metadata",
    }
)
# Resolving an admin-entered host for the metadata check waits at most this (s).
SERVICE_RESOLVE_TIMEOUT = 10.0
# The translated config-flow error of every refused service URL field.
METADATA_URL_ERROR = "metadata_url"
# IPv6 ranges refused outright although Python calls (some of) their addresses
# global: deprecated site-local fec0::/10 (routed inside a site, like RFC 1918), and
# the deprecated IPv4-compatible ::/96, whose ::a.b.c.d may reach an internal IPv4
# host through a dual-stack socket.
DENIED_NETWORKS: tuple[IPNetwork, ...] = (
    ipaddress.ip_network("fec0::/10"),
    ipaddress.ip_network("::/96"),
)
# NAT64 well-known prefix (RFC 6052): 64:ff9b::a.b.c.d is translated to a.b.c.d by
# the network's NAT64 gateway. On an IPv6-only network with DNS64 every public host
# resolves into it, so refusing the prefix would break every download there;
# instead the embedded IPv4 address decides, exactly as if it had been resolved.
NAT64_NETWORK = ipaddress.ip_network("64:ff9b::/96")
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
ALLOWED_SCHEMES = frozenset({"http", "https"})
DEFAULT_MAX_REDIRECTS = 5
DEFAULT_TIMEOUT = 30.0
CHUNK_SIZE = 64 * 1024


# `scheme://userinfo@` of a URL, also inside a longer text: the userinfo runs up to the
# LAST "@" before the path, query, fragment or a space, exactly where yarl and urllib
# end it (a password may hold a raw "@").
_USERINFO = re.compile(r"\b([A-Za-z][A-Za-z0-9+.\-]*://)[^/?#\s]*@")
URL_CREDENTIALS_MASK = "**REDACTED**"


def url_without_credentials(text: str, mask: str = "") -> str:
    """Return `text` with the user and password of every URL in it removed.

    Credentials in a configured URL (`http://user:password@host`, common behind a
    reverse proxy) are secrets: this is what any display, log line, repair issue or
    link sent to a chat shows instead. `mask` replaces them (diagnostics show that
    credentials were set); empty drops them, which is what links need.
    """
    replacement = rf"\1{mask}@" if mask else r"\1"
    return _USERINFO.sub(replacement, text)


def redact_url_credentials(data: Any) -> Any:
    """Return JSON-like data whose every URL string carries no credentials."""
    if isinstance(data, str):
        return url_without_credentials(data, URL_CREDENTIALS_MASK)
    if isinstance(data, dict):
        return {key: redact_url_credentials(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [redact_url_credentials(value) for value in data]
    return data


def keep_url_credentials(submitted: str, stored: str | None) -> str:
    """Return the URL an edit form means: the stored one when it came back bare.

    Edit forms show a configured URL without its credentials (they are never sent
    to the browser); submitting that same URL keeps them, while a URL with its own
    credentials, or another URL, replaces them.
    """
    if not stored:
        return submitted
    bare, header = split_url_credentials(stored)
    if header is None or submitted.strip().rstrip("/") != bare.rstrip("/"):
        return submitted
    return stored


def split_url_credentials(url: str) -> tuple[str, str | None]:
    """Return the URL without credentials and the `Authorization` value they make.

    Clients keep the credentials only as a header for their own requests, so no
    URL they hold, show or put in an error message carries them.
    """
    parsed = URL(url)
    if parsed.raw_user is None and parsed.raw_password is None:
        return url, None
    return url_without_credentials(url), basic_auth_header(
        parsed.user or "", parsed.password or ""
    )


def basic_auth_header(user: str, password: str) -> str:
    """Return an HTTP Basic `Authorization` value (RFC 7617, UTF-8).

    Written out because aiohttp deprecates BasicAuth and only its newest releases
    have encode_basic_auth; both supported Home Assistant stacks run this.
    """
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def normalize_url(value: str, *, drop_suffix: str = "") -> str | None:
    """Return an http(s) base URL without a trailing slash (nor query, fragment or
    `drop_suffix` at the end of its path), or None when it is not such a URL."""
    text = value.strip()
    if not text or any(char.isspace() for char in text):
        return None
    try:
        url = URL(text)
    except ValueError:
        return None
    if url.scheme not in ("http", "https") or not url.host:
        return None
    path = url.path.rstrip("/")
    if drop_suffix:
        path = path.removesuffix(drop_suffix)
    base = url.with_path(path or "/").with_query(None).with_fragment(None)
    return str(base).rstrip("/")


class FetchError(Exception):
    """A fetch of an outbound URL failed."""


class UrlRefusedError(FetchError):
    """The URL (or a redirect) points somewhere the guard does not allow."""


class DownloadTooLargeError(FetchError):
    """The body is larger than the caller's byte bound."""


class FetchTimeoutError(FetchError):
    """The fetch did not finish within its wall-clock budget."""


class FetchFailedError(FetchError):
    """The peer answered with an error status or the connection failed."""


@dataclass(frozen=True, slots=True)
class UrlPolicy:
    """Which destinations outbound fetches may reach.

    `allowlist` holds host names (exact, case-insensitive) that are trusted whatever
    they resolve to (e.g. the configured Immich server) and/or networks in CIDR form
    whose addresses are allowed even though they are private.
    """

    allow_private: bool = False
    allowlist: tuple[str, ...] = ()

    def allows_host(self, host: str) -> bool:
        """Return whether the host name itself is trusted."""
        host = host.lower().rstrip(".")
        return any(entry.lower().rstrip(".") == host for entry in self.allowlist)

    def allowed_networks(self) -> list[IPNetwork]:
        """Return the allowlist entries that are networks."""
        return list(_parse_networks(self.allowlist))


@dataclass(frozen=True, slots=True)
class FetchResult:
    """A downloaded body and what the peer said about it."""

    data: bytes
    content_type: str | None
    url: str


def _parse_networks(entries: Iterable[str]) -> Iterable[IPNetwork]:
    for entry in entries:
        try:
            yield ipaddress.ip_network(entry, strict=False)
        except ValueError:
            continue  # a host name, not a network


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """Return the IPv4 address a connection to `address` really reaches, if any.

    IPv4-mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) addresses carry an
    IPv4 address that the socket or the network's NAT64 gateway connects to.
    """
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in NAT64_NETWORK:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_metadata_address(address: IPAddress) -> bool:
    """Return whether a connection to `address` reaches a cloud metadata endpoint."""
    inner = embedded_ipv4(address)
    return address in METADATA_ADDRESSES or (
        inner is not None and inner in METADATA_ADDRESSES
    )


def is_metadata_hostname(host: str) -> bool:
    """Return whether a host name is a cloud metadata service's name."""
    return host.lower().rstrip(".") in METADATA_HOSTNAMES


def is_public_address(address: IPAddress) -> bool:
    """Return whether an address is on the public internet."""
    if (inner := embedded_ipv4(address)) is not None:
        return is_public_address(inner)
    if address in METADATA_ADDRESSES:
        return False
    if any(address in network for network in DENIED_NETWORKS):
        return False
    return not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


def check_address(address: IPAddress, policy: UrlPolicy) -> None:
    """Raise `UrlRefusedError` unless the policy lets a connection reach `address`.

    A cloud metadata address (also inside a mapped or NAT64 address) passes only
    when the allowlist names that very address (a /32 or /128 entry): a network
    such as 169.254.0.0/16 or fd00::/8 opened for the LAN does not open it.
    """
    networks = policy.allowed_networks()
    targets = [address]
    if (inner := embedded_ipv4(address)) is not None:
        targets.append(inner)
    for target in targets:
        if target in METADATA_ADDRESSES:
            if any(n.num_addresses == 1 and target in n for n in networks):
                return
            raise UrlRefusedError(f"address {address} is a cloud metadata endpoint")
    if any(target in network for network in networks for target in targets):
        return
    if is_public_address(address) or policy.allow_private:
        return
    raise UrlRefusedError(f"address {address} is not public")


async def default_resolver(host: str, port: int) -> list[str]:
    """Resolve a host with the event loop's (non-blocking) getaddrinfo."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


async def async_check_url(
    url: URL, policy: UrlPolicy, resolver: Resolver = default_resolver
) -> str | None:
    """Check a URL; return the address to pin the connection to.

    None means "connect by name": the host is explicitly trusted.
    """
    if url.scheme not in ALLOWED_SCHEMES:
        raise UrlRefusedError(f"scheme {url.scheme!r} is not allowed")
    host = url.raw_host
    if not host:
        raise UrlRefusedError("URL has no host")
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        literal = None
    if literal is not None:
        check_address(literal, policy)
        return str(literal)
    if policy.allows_host(host):
        return None
    if is_metadata_hostname(host):
        raise UrlRefusedError(f"host {host} is a cloud metadata endpoint")
    addresses = await _resolve(host, url.port or 80, resolver)
    # Every address is checked: a name with one public and one internal address
    # would otherwise let the connection pick the internal one.
    for address in addresses:
        check_address(address, policy)
    return str(addresses[0])


async def async_check_service_url(
    url: str, resolver: Resolver = default_resolver
) -> None:
    """Raise `UrlRefusedError` when an admin-entered service URL reaches metadata.

    Immich, Gitea or a Bot API server may well be on the LAN, so private addresses
    pass; a cloud metadata endpoint never does (by address, inside a mapped or NAT64
    address, by name, or by what the name resolves to). A name that does not resolve
    passes here: the flow's own connection check reports it.
    """
    try:
        host = URL(url.strip()).raw_host
    except ValueError:
        return  # not a URL: the flow's own validation says so
    if not host:
        return
    if is_metadata_hostname(host):
        raise UrlRefusedError(f"host {host} is a cloud metadata endpoint")
    try:
        literal = ipaddress.ip_address(host.strip("[]").split("%", 1)[0].rstrip("."))
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [literal]
    else:
        try:
            async with asyncio.timeout(SERVICE_RESOLVE_TIMEOUT):
                addresses = await _resolve(host, 80, resolver)
        except FetchFailedError, TimeoutError, ValueError, RuntimeError:
            # Unresolvable here (ValueError: a name IDNA cannot encode; RuntimeError:
            # an environment that forbids lookups, such as HA's test harness).
            return
    if any(is_metadata_address(address) for address in addresses):
        raise UrlRefusedError(f"host {host} reaches a cloud metadata endpoint")


async def async_service_url_errors(
    field: str, url: str, resolver: Resolver = default_resolver
) -> dict[str, str]:
    """Return the config-flow error of a service URL field: {} when it may be used."""
    try:
        await async_check_service_url(url, resolver)
    except UrlRefusedError:
        return {field: METADATA_URL_ERROR}
    return {}


async def _resolve(host: str, port: int, resolver: Resolver) -> list[IPAddress]:
    try:
        raw = await resolver(host, port)
    except OSError as err:
        raise FetchFailedError(f"cannot resolve {host}: {err}") from err
    addresses = [ipaddress.ip_address(item.split("%", 1)[0]) for item in raw]
    if not addresses:
        raise FetchFailedError(f"cannot resolve {host}: no addresses")
    return addresses


async def async_fetch(
    session: aiohttp.ClientSession,
    url: str,
    *,
    max_bytes: int,
    policy: UrlPolicy | None = None,
    budget: float = DEFAULT_TIMEOUT,
    max_redirects: int = DEFAULT_MAX_REDIRECTS,
    resolver: Resolver = default_resolver,
    sink: Sink | None = None,
) -> FetchResult:
    """Download `url` through the guard, within `budget` seconds and `max_bytes`.

    With a `sink` the body goes there chunk by chunk (`data` is then empty), so a
    large file need not fit in memory; the bound and the budget hold the same.
    """
    policy = policy or UrlPolicy()
    try:
        async with asyncio.timeout(budget):
            return await _fetch_following_redirects(
                session, URL(url), max_bytes, policy, max_redirects, resolver, sink
            )
    except TimeoutError as err:
        raise FetchTimeoutError(f"fetch took longer than {budget:g} s") from err
    except aiohttp.ClientError as err:
        raise FetchFailedError(f"fetch failed: {err}") from err
    except ValueError as err:  # yarl/aiohttp reject malformed URLs with ValueError
        raise UrlRefusedError(f"invalid URL: {err}") from err


async def _fetch_following_redirects(
    session: aiohttp.ClientSession,
    url: URL,
    max_bytes: int,
    policy: UrlPolicy,
    max_redirects: int,
    resolver: Resolver,
    sink: Sink | None = None,
) -> FetchResult:
    # Redirects are followed here, not by aiohttp, so each hop is checked first.
    for _hop in range(max_redirects + 1):
        pinned = await async_check_url(url, policy, resolver)
        async with _request(session, url, pinned) as response:
            if response.status in REDIRECT_STATUSES:
                url = _redirect_target(url, response)
                continue
            if response.status >= 400:
                raise FetchFailedError(f"HTTP {response.status} from {url.host}")
            data = await _read_bounded(response, max_bytes, sink)
            return FetchResult(data, response.content_type, str(url))
    raise FetchFailedError(f"more than {max_redirects} redirects")


def _request(
    session: aiohttp.ClientSession, url: URL, pinned: str | None
) -> aiohttp.client._RequestContextManager:
    if pinned is None:
        return session.get(url, allow_redirects=False)
    # Connect to the checked address while keeping the name for Host and TLS.
    host_header = url.raw_host or ""
    if not url.is_default_port():
        host_header = f"{host_header}:{url.port}"
    return session.get(
        url.with_host(pinned),
        allow_redirects=False,
        headers={"Host": host_header},
        server_hostname=url.raw_host if url.scheme == "https" else None,
    )


def _redirect_target(url: URL, response: aiohttp.ClientResponse) -> URL:
    location = response.headers.get("Location")
    if not location:
        raise FetchFailedError(f"redirect from {url.host} without Location")
    target = url.join(URL(location))
    _LOGGER.debug("Following redirect to %s", target.host)
    return target


async def _read_bounded(
    response: aiohttp.ClientResponse, max_bytes: int, sink: Sink | None = None
) -> bytes:
    declared = response.content_length
    if declared is not None and declared > max_bytes:
        raise DownloadTooLargeError(f"{declared} bytes declared, limit {max_bytes}")
    body = bytearray()
    received = 0
    async for chunk in response.content.iter_chunked(CHUNK_SIZE):
        received += len(chunk)
        # Checked while streaming: a missing or lying Content-Length must not let
        # a peer fill memory (or the disk).
        if received > max_bytes:
            raise DownloadTooLargeError(f"body exceeds {max_bytes} bytes")
        if sink is None:
            body.extend(chunk)
        else:
            await sink(chunk)
    return bytes(body)


# --- why a connection failed ----------------------------------------------------------

# What a "could not connect" form error says went wrong (its {reason} placeholder).
CONNECT_REASONS: dict[str, str] = {
    "timeout": "the connection timed out",
    "refused": "the connection was refused (is the server running on that port?)",
    "tls": "the TLS/SSL handshake failed (certificate not trusted, or not an https server)",
    "dns": "the host name could not be resolved",
    "error": "the server answered with an error",
    "other": "the network failed",
}
# Words of an error message (when the exception chain was cut) and their reason.
_REASON_WORDS = (
    ("tls", ("ssl", "certificate", "tls")),
    ("dns", ("name or service not known", "nodename nor servname", "getaddrinfo")),
    (
        "refused",
        ("connection refused", "connect call failed", "all connection attempts"),
    ),
    ("timeout", ("timed out", "timeout")),
    ("error", ("server error", "bad gateway", "service unavailable")),
)


def _reason_of(err: BaseException) -> str | None:
    # Order matters: aiohttp's certificate and DNS errors are connection errors too.
    if isinstance(err, (ssl_module.SSLError, aiohttp.ClientSSLError)):
        return "tls"
    if isinstance(err, socket.gaierror):
        return "dns"
    if isinstance(err, ConnectionRefusedError):
        return "refused"
    if isinstance(err, TimeoutError):
        return "timeout"
    return None


def connect_reason(err: BaseException) -> str:
    """Return why a connection failed, as a key of CONNECT_REASONS: from the
    exception chain (causes, contexts, aiohttp's `os_error`), else its message."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [err]
    while pending:
        current = pending.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if (reason := _reason_of(current)) is not None:
            return reason
        pending.extend(
            [current.__cause__, current.__context__, getattr(current, "os_error", None)]
        )
    text = str(err).lower()
    for reason, words in _REASON_WORDS:
        if any(word in text for word in words):
            return reason
    return "other"
