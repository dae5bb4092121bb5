"""The outbound URL guard and bounded downloads, against a real server on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import ipaddress
import socket

from aiohttp import ClientSession, web
import pytest
from pytest_homeassistant_custom_component import plugins as ha_test_plugins
from yarl import URL

from custom_components.notify_bridge.net import (
    METADATA_URL_ERROR,
    DownloadTooLargeError,
    FetchFailedError,
    FetchTimeoutError,
    UrlPolicy,
    UrlRefusedError,
    async_check_service_url,
    async_check_url,
    async_fetch,
    async_service_url_errors,
    basic_auth_header,
    check_address,
    default_resolver,
    is_public_address,
    keep_url_credentials,
    redact_url_credentials,
    split_url_credentials,
    url_without_credentials,
)

pytestmark = pytest.mark.usefixtures("socket_enabled")

LOOPBACK = UrlPolicy(allowlist=("trusted.test", "127.0.0.1/32"))
BODY = b"0123456789" * 100

# The resolver under the test plugin's DNS block (newer plugins refuse every name but
# localhost; older ones have no block, so socket's own is the real one).
real_getaddrinfo = getattr(ha_test_plugins, "_real_getaddrinfo", socket.getaddrinfo)


async def _ok(_request: web.Request) -> web.Response:
    return web.Response(body=BODY, content_type="image/jpeg")


async def _host(request: web.Request) -> web.Response:
    return web.Response(text=request.headers["Host"])


async def _redirect(request: web.Request) -> web.Response:
    raise web.HTTPFound(request.query["to"])


async def _loop(_request: web.Request) -> web.Response:
    raise web.HTTPFound("/loop")


async def _no_location(_request: web.Request) -> web.Response:
    return web.Response(status=302)


async def _declared_big(_request: web.Request) -> web.Response:
    return web.Response(body=b"x" * 5000)


async def _stream(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse()
    response.enable_chunked_encoding()
    await response.prepare(request)
    for _ in range(100):
        await response.write(b"y" * 1000)
    return response


async def _slow_chain(request: web.Request) -> web.Response:
    await asyncio.sleep(0.15)
    hops = int(request.match_info["hops"])
    raise web.HTTPFound(f"/slow/{hops - 1}" if hops > 1 else "/ok")


async def _missing(_request: web.Request) -> web.Response:
    raise web.HTTPNotFound


@pytest.fixture
async def media_server() -> AsyncIterator[str]:
    """Serve test routes on 127.0.0.1; yield the base URL."""
    app = web.Application()
    app.router.add_get("/ok", _ok)
    app.router.add_get("/host", _host)
    app.router.add_get("/redirect", _redirect)
    app.router.add_get("/loop", _loop)
    app.router.add_get("/noloc", _no_location)
    app.router.add_get("/big", _declared_big)
    app.router.add_get("/stream", _stream)
    app.router.add_get("/slow/{hops}", _slow_chain)
    app.router.add_get("/missing", _missing)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


@pytest.fixture
async def session() -> AsyncIterator[ClientSession]:
    """Yield a client session, closed afterwards."""
    async with ClientSession() as client:
        yield client


def resolver_for(mapping: dict[str, list[str]]):
    """Return a resolver that answers from a table (no DNS traffic)."""

    async def resolve(host: str, _port: int) -> list[str]:
        if host not in mapping:
            raise OSError("no such host")
        return mapping[host]

    return resolve


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "169.254.1.1",
        "100.64.0.1",
        "0.0.0.0",  # noqa: S104 - an address under test, nothing binds to it
        "224.0.0.1",
        "240.0.0.1",
        "::1",
        "fe80::1",
        "fd00:ec2::254",
        "fc00::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
    ],
)
def test_internal_addresses_are_not_public(address: str) -> None:
    """Loopback, private, link-local, metadata, multicast, reserved: all refused."""
    ip = ipaddress.ip_address(address)
    assert not is_public_address(ip)
    with pytest.raises(UrlRefusedError):
        check_address(ip, UrlPolicy())


def test_public_addresses_pass() -> None:
    """Global unicast addresses are allowed by default."""
    for address in ("93.184.216.34", "2606:4700::1111", "::ffff:8.8.8.8"):
        check_address(ipaddress.ip_address(address), UrlPolicy())


def test_allow_private_still_refuses_metadata() -> None:
    """allow_private opens the LAN but never the cloud metadata endpoints."""
    policy = UrlPolicy(allow_private=True)
    check_address(ipaddress.ip_address("10.0.0.5"), policy)
    for address in ("169.254.169.254", "fd00:ec2::254"):
        with pytest.raises(UrlRefusedError, match="metadata"):
            check_address(ipaddress.ip_address(address), policy)
    explicit = UrlPolicy(allowlist=("169.254.169.254/32",))
    check_address(ipaddress.ip_address("169.254.169.254"), explicit)


@pytest.mark.parametrize(
    "address",
    [
        "fec0::1",  # site-local: Python calls it global
        "fec0:1234::5",
        "feff::1",
        "::10.0.0.1",  # IPv4-compatible (::/96) with a private IPv4
        "::127.0.0.1",
        "::8.8.8.8",  # IPv4-compatible is deprecated: refused whatever it embeds
        "64:ff9b::10.0.0.1",  # NAT64 of a private IPv4
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    ],
)
def test_ipv6_ranges_hiding_internal_addresses(address: str) -> None:
    """Site-local, IPv4-compatible and NAT64-of-internal addresses are refused."""
    ip = ipaddress.ip_address(address)
    assert not is_public_address(ip)
    with pytest.raises(UrlRefusedError):
        check_address(ip, UrlPolicy())


def test_nat64_of_public_address_passes() -> None:
    """On an IPv6-only network with DNS64, public hosts live in 64:ff9b::/96."""
    for address in ("64:ff9b::8.8.8.8", "64:ff9b::5db8:d822"):
        ip = ipaddress.ip_address(address)
        assert is_public_address(ip)
        check_address(ip, UrlPolicy())


@pytest.mark.parametrize(
    "address", ["::ffff:169.254.169.254", "64:ff9b::169.254.169.254"]
)
def test_metadata_behind_ipv6_forms_still_refused(address: str) -> None:
    """allow_private does not open the metadata endpoint in a mapped/NAT64 form."""
    with pytest.raises(UrlRefusedError, match="metadata"):
        check_address(ipaddress.ip_address(address), UrlPolicy(allow_private=True))


@pytest.mark.parametrize(
    ("network", "address"),
    [
        ("169.254.0.0/16", "169.254.169.254"),
        ("0.0.0.0/0", "169.254.169.254"),
        ("fd00::/8", "fd00:ec2::254"),
        ("::/0", "fd00:ec2::254"),
    ],
)
def test_metadata_needs_its_own_allowlist_entry(network: str, address: str) -> None:
    """A network opened for the LAN does not open the metadata endpoint in it."""
    ip = ipaddress.ip_address(address)
    with pytest.raises(UrlRefusedError, match="metadata"):
        check_address(ip, UrlPolicy(allowlist=(network,)))
    # Other addresses of the network are allowed; the address itself opens it.
    check_address(
        next(ipaddress.ip_network(network).hosts()), UrlPolicy(allowlist=(network,))
    )
    check_address(ip, UrlPolicy(allowlist=(network, address)))


def test_allowlisted_network_covers_mapped_form() -> None:
    """An allowed IPv4 network also covers the IPv4-mapped form of its addresses."""
    policy = UrlPolicy(allowlist=("192.168.1.0/24",))
    check_address(ipaddress.ip_address("::ffff:192.168.1.20"), policy)
    with pytest.raises(UrlRefusedError):
        check_address(ipaddress.ip_address("::ffff:192.168.2.20"), policy)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x",
        "http://10.0.0.1/x",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://[::1]:8123/",
        "http://0.0.0.0/",
        "file:///etc/passwd",
        "ftp://example.com/x",
        "gopher://example.com/",
        "http:///nohost",
    ],
)
async def test_hostile_urls_refused_before_connecting(
    session: ClientSession, url: str
) -> None:
    """Hostile URLs are refused without a connection attempt."""
    with pytest.raises(UrlRefusedError):
        await async_fetch(session, url, max_bytes=1000)


async def test_every_resolved_address_is_checked() -> None:
    """A name with one public and one private address is refused."""
    resolver = resolver_for({"mixed.test": ["93.184.216.34", "10.0.0.7"]})
    with pytest.raises(UrlRefusedError, match="10.0.0.7"):
        await async_check_url(URL("http://mixed.test/"), UrlPolicy(), resolver)
    resolver = resolver_for({"public.test": ["93.184.216.34"]})
    pinned = await async_check_url(URL("https://public.test/"), UrlPolicy(), resolver)
    assert pinned == "93.184.216.34"


async def test_resolution_failures_are_fetch_errors() -> None:
    """Unresolvable names and empty answers fail cleanly."""
    with pytest.raises(FetchFailedError, match="cannot resolve"):
        await async_check_url(
            URL("http://nowhere.test/"), UrlPolicy(), resolver_for({})
        )
    empty = resolver_for({"empty.test": []})
    with pytest.raises(FetchFailedError, match="no addresses"):
        await async_check_url(URL("http://empty.test/"), UrlPolicy(), empty)


async def test_allowlisted_host_connects_by_name() -> None:
    """A trusted host name (the configured server) is not resolved or checked."""
    policy = UrlPolicy(allowlist=("Immich.LAN.",))
    assert await async_check_url(URL("http://immich.lan/a"), policy) is None


async def test_default_resolver_resolves_literals() -> None:
    """The default resolver uses the loop's getaddrinfo."""
    assert "127.0.0.1" in await default_resolver("127.0.0.1", 80)


async def test_fetch_allowed_loopback(
    media_server: str, session: ClientSession
) -> None:
    """An allowlisted network can be fetched; the body and type come back."""
    result = await async_fetch(
        session, f"{media_server}/ok", max_bytes=10_000, policy=LOOPBACK
    )
    assert result.data == BODY
    assert result.content_type == "image/jpeg"
    refused = UrlPolicy()
    with pytest.raises(UrlRefusedError):
        await async_fetch(
            session, f"{media_server}/ok", max_bytes=10_000, policy=refused
        )


async def test_connection_pinned_to_checked_address(
    media_server: str, session: ClientSession
) -> None:
    """The connection goes to the checked address; Host keeps the name."""
    port = URL(media_server).port
    resolver = resolver_for({"media.test": ["127.0.0.1"]})
    result = await async_fetch(
        session,
        f"http://media.test:{port}/host",
        max_bytes=1000,
        policy=LOOPBACK,
        resolver=resolver,
    )
    assert result.data.decode() == f"media.test:{port}"
    assert result.url == f"http://media.test:{port}/host"


@pytest.mark.parametrize(
    "target",
    [
        "http://10.0.0.1/x",
        "http://169.254.169.254/latest/meta-data/iam",
        "http://[::1]/",
        "http://192.168.0.10:8123/api",
        "file:///etc/passwd",
    ],
)
async def test_redirect_to_private_address_refused(
    media_server: str, session: ClientSession, target: str
) -> None:
    """Every redirect hop is re-checked."""
    with pytest.raises(UrlRefusedError):
        await async_fetch(
            session,
            f"{media_server}/redirect?to={target}",
            max_bytes=1000,
            policy=LOOPBACK,
        )


async def test_relative_redirect_followed(
    media_server: str, session: ClientSession
) -> None:
    """A relative redirect is resolved against the current URL and followed."""
    result = await async_fetch(
        session, f"{media_server}/redirect?to=/ok", max_bytes=10_000, policy=LOOPBACK
    )
    assert result.data == BODY
    assert result.url.endswith("/ok")


async def test_redirect_limits(media_server: str, session: ClientSession) -> None:
    """More than max_redirects hops, or a redirect without Location, fail."""
    with pytest.raises(FetchFailedError, match="more than 5 redirects"):
        await async_fetch(
            session, f"{media_server}/loop", max_bytes=10, policy=LOOPBACK
        )
    with pytest.raises(FetchFailedError, match="without Location"):
        await async_fetch(
            session, f"{media_server}/noloc", max_bytes=10, policy=LOOPBACK
        )


async def test_declared_oversize_refused(
    media_server: str, session: ClientSession
) -> None:
    """A Content-Length over the bound is refused before reading."""
    with pytest.raises(DownloadTooLargeError, match="declared"):
        await async_fetch(
            session, f"{media_server}/big", max_bytes=1000, policy=LOOPBACK
        )


async def test_streamed_oversize_aborted(
    media_server: str, session: ClientSession
) -> None:
    """A chunked body without length is cut off as soon as it passes the bound."""
    with pytest.raises(DownloadTooLargeError, match="exceeds"):
        await async_fetch(
            session, f"{media_server}/stream", max_bytes=10_000, policy=LOOPBACK
        )
    result = await async_fetch(
        session, f"{media_server}/stream", max_bytes=100_000, policy=LOOPBACK
    )
    assert len(result.data) == 100_000


async def test_one_budget_for_the_whole_fetch(
    media_server: str, session: ClientSession
) -> None:
    """Each hop is under the budget, all hops together are not."""
    url = f"{media_server}/slow/3"
    with pytest.raises(FetchTimeoutError):
        await async_fetch(session, url, max_bytes=10_000, policy=LOOPBACK, budget=0.35)
    result = await async_fetch(
        session, url, max_bytes=10_000, policy=LOOPBACK, budget=2
    )
    assert result.data == BODY


async def test_peer_errors(media_server: str, session: ClientSession) -> None:
    """HTTP errors and refused connections are FetchFailedError."""
    with pytest.raises(FetchFailedError, match="HTTP 404"):
        await async_fetch(
            session, f"{media_server}/missing", max_bytes=10, policy=LOOPBACK
        )
    with pytest.raises(FetchFailedError):
        await async_fetch(
            session, "http://127.0.0.1:9/x", max_bytes=10, policy=LOOPBACK
        )
    with pytest.raises(UrlRefusedError, match="invalid URL"):
        await async_fetch(
            session, "http://127.0.0.1:99999999/x", max_bytes=10, policy=LOOPBACK
        )


async def test_allowlisted_host_fetched_by_name(
    media_server: str, session: ClientSession
) -> None:
    """A trusted name is fetched without pinning (the session resolves it)."""
    port = URL(media_server).port
    policy = UrlPolicy(allowlist=("localhost",))
    result = await async_fetch(
        session, f"http://localhost:{port}/host", max_bytes=100, policy=policy
    )
    assert result.data.decode() == f"localhost:{port}"


# --- Credentials in configured URLs ----------------------------------------------------


@pytest.mark.parametrize(
    ("url", "bare"),
    [
        ("http://user:pw@host:8080/p?q=1", "http://host:8080/p?q=1"),
        # A raw "@" in the password: the userinfo ends at the LAST "@" (as in yarl).
        ("https://user:p@ss@host/a@b", "https://host/a@b"),
        ("http://user@host", "http://host"),
        ("HTTP://:secret@Host/", "HTTP://Host/"),
        ("http://u:p%40w@[::1]:9/", "http://[::1]:9/"),
        # No userinfo: an "@" in the path or query is left alone.
        ("https://host/a@b?c=d@e#f@g", "https://host/a@b?c=d@e#f@g"),
        ("not a url", "not a url"),
    ],
)
def test_url_without_credentials(url: str, bare: str) -> None:
    """Display and link form: the userinfo is gone, the rest untouched."""
    assert url_without_credentials(url) == bare
    if "@" in url and url != bare:
        assert URL(url).host == URL(bare).host
        stripped, header = split_url_credentials(url)
        assert stripped == bare
        assert header is not None
        assert header.startswith("Basic ")
    else:
        assert split_url_credentials(url) == (url, None)


def test_credentials_masked_inside_text_and_nested_data() -> None:
    """Diagnostics show that credentials exist, never what they are."""
    text = "failed: http://a:b@one/x and ftp://c@two, then https://three/"
    assert url_without_credentials(text, "***") == (
        "failed: http://***@one/x and ftp://***@two, then https://three/"
    )
    data = {"url": "http://a:pw@h", "n": 3, "nested": [{"u": "https://x:y@h2/"}]}
    assert redact_url_credentials(data) == {
        "url": "http://**REDACTED**@h",
        "n": 3,
        "nested": [{"u": "https://**REDACTED**@h2/"}],
    }


def test_split_credentials_header_matches_aiohttp() -> None:
    """The header is what aiohttp itself derives from the URL's userinfo."""
    _, header = split_url_credentials("http://al%20ice:p%3Aw@host/")
    assert header == basic_auth_header("al ice", "p:w")


# --- Admin-entered service URLs ------------------------------------------------------


SERVICE_DNS = resolver_for(
    {
        "immich.lan": ["192.168.1.20"],
        "rebound.test": ["192.168.1.20", "169.254.169.254"],
        "rebound6.test": ["fd00:ec2::254"],
        "ecs.test": ["169.254.170.2"],
    }
)


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "https://[fd00:ec2::254]:443/",
        "http://[fd20:ce::254]/",
        "http://[::ffff:a9fe:a9fe]/",
        "http://100.100.100.200",
        "http://169.254.169.254./",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://Metadata.Google.Internal./",
        "http://metadata/",
        "http://rebound.test:2283",
        "http://rebound6.test",
        "http://ecs.test/v2/credentials",
    ],
)
async def test_service_url_to_metadata_is_refused(url: str) -> None:
    """By address, mapped address, name, or what any resolved address is."""
    with pytest.raises(UrlRefusedError):
        await async_check_service_url(url, SERVICE_DNS)
    assert await async_service_url_errors("url", url, SERVICE_DNS) == {
        "url": METADATA_URL_ERROR
    }


@pytest.mark.parametrize(
    "url",
    [
        "http://192.168.1.10:2283",
        "http://10.0.0.5",
        "http://[fd00::5]/",
        "http://169.254.1.1/",  # link-local, but no metadata service
        "http://127.0.0.1:8081",
        "http://immich.lan",
        "http://unknown.test",  # does not resolve: the flow's connection check says so
        "https://api.telegram.org",
        "not a url",
    ],
)
async def test_service_url_on_the_lan_is_allowed(url: str) -> None:
    """Immich, Gitea or a Bot API server on the LAN is normal."""
    await async_check_service_url(url, SERVICE_DNS)
    assert await async_service_url_errors("url", url, SERVICE_DNS) == {}


async def test_numeric_metadata_forms_through_libc() -> None:
    """Decimal and hex IPv4 forms are what libc's getaddrinfo makes of them.

    HA's test plugin refuses lookups of non-literal names, so libc is called with
    AI_NUMERICHOST (no DNS) exactly as the event loop's getaddrinfo would call it.
    """

    async def libc(host: str, port: int) -> list[str]:
        infos = real_getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST
        )
        return [str(info[4][0]) for info in infos]

    for url in ("http://2852039166/", "http://0xa9.0xfe.0xa9.0xfe/"):
        with pytest.raises(UrlRefusedError):
            await async_check_service_url(url, libc)
    await async_check_service_url("http://3232235786/", libc)  # 192.168.1.10


async def test_media_guard_refuses_metadata_names_too() -> None:
    """Also with private addresses allowed; only an explicit allowlist entry passes."""
    resolver = resolver_for({"metadata.google.internal": ["10.1.2.3"]})
    with pytest.raises(UrlRefusedError, match="metadata"):
        await async_check_url(
            URL("http://metadata.google.internal/"),
            UrlPolicy(allow_private=True),
            resolver,
        )
    allowed = UrlPolicy(allowlist=("metadata.google.internal",))
    assert (
        await async_check_url(URL("http://metadata.google.internal/"), allowed) is None
    )


def test_keep_url_credentials_only_for_the_same_bare_url() -> None:
    """An edit form's bare URL keeps the stored credentials; anything else wins."""
    stored = "http://u:pw@immich.lan:2283"
    assert keep_url_credentials("http://immich.lan:2283", stored) == stored
    assert keep_url_credentials(" http://immich.lan:2283/ ", stored) == stored
    assert keep_url_credentials("http://other.lan:2283", stored) == (
        "http://other.lan:2283"
    )
    assert keep_url_credentials("http://v:new@immich.lan:2283", stored) == (
        "http://v:new@immich.lan:2283"
    )
    assert keep_url_credentials("http://immich.lan", None) == "http://immich.lan"
    assert keep_url_credentials("http://immich.lan", "http://immich.lan") == (
        "http://immich.lan"
    )
