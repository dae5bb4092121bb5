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
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
import ipaddress
import socket

import aiohttp
from yarl import URL

from .pipeline.log import get_logger

_LOGGER = get_logger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# Resolves (host, port) to the addresses a connection could go to.
Resolver = Callable[[str, int], Awaitable[list[str]]]

# Cloud metadata endpoints: refused even when private addresses are allowed, because
# they hand out credentials; only an explicit allowlist entry lets them through.
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),
        ipaddress.ip_address("fd00:ec2::254"),
        ipaddress.ip_address("100.100.100.200"),
    }
)
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
    addresses = await _resolve(host, url.port or 80, resolver)
    # Every address is checked: a name with one public and one internal address
    # would otherwise let the connection pick the internal one.
    for address in addresses:
        check_address(address, policy)
    return str(addresses[0])


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
) -> FetchResult:
    """Download `url` through the guard, within `budget` seconds and `max_bytes`."""
    policy = policy or UrlPolicy()
    try:
        async with asyncio.timeout(budget):
            return await _fetch_following_redirects(
                session, URL(url), max_bytes, policy, max_redirects, resolver
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
            data = await _read_bounded(response, max_bytes)
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


async def _read_bounded(response: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    declared = response.content_length
    if declared is not None and declared > max_bytes:
        raise DownloadTooLargeError(f"{declared} bytes declared, limit {max_bytes}")
    body = bytearray()
    async for chunk in response.content.iter_chunked(CHUNK_SIZE):
        body.extend(chunk)
        # Checked while streaming: a missing or lying Content-Length must not let
        # a peer fill memory.
        if len(body) > max_bytes:
            raise DownloadTooLargeError(f"body exceeds {max_bytes} bytes")
    return bytes(body)
