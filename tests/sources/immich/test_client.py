"""The Immich client against the fake server: shapes, versions, failures, media."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from custom_components.notify_bridge.pipeline.models import MediaType
from custom_components.notify_bridge.sources.immich import client as client_module
from custom_components.notify_bridge.sources.immich.client import (
    AssetType,
    ImmichAuthError,
    ImmichBadRequestError,
    ImmichClient,
    ImmichConnectionError,
    ImmichMediaTooLargeError,
    ImmichNotFoundError,
    ImmichResponseError,
    MediaVariant,
    SharedLink,
    pick_album_link,
)
from custom_components.notify_bridge.sources.immich.events import media_item
from tests.fakes.immich_server import ME_ID, OTHER_ID, FakeImmichServer


async def test_validate_returns_version_and_user(
    server: FakeImmichServer, client: ImmichClient
) -> None:
    """Ping, version and users/me are the entry checks."""
    version, user = await client.async_validate()
    assert version.major == server.version
    assert str(version).startswith(f"{server.version}.")
    assert user.id == ME_ID
    assert user.name == "Alice"
    # The version is asked once and remembered.
    await client.async_get_version()
    assert server.paths["/api/server/version"] == 1
    assert client.base_url == server.url


async def test_unverified_tls_option(
    v3_server: FakeImmichServer, session: aiohttp.ClientSession
) -> None:
    """`verify_ssl=False` (self-signed LAN servers) still talks to the server."""
    lenient = ImmichClient(
        session, v3_server.url + "/", v3_server.api_key, verify_ssl=False
    )
    assert (await lenient.async_get_me()).name == "Alice"


async def test_wrong_key_is_an_auth_error(
    server: FakeImmichServer, session: aiohttp.ClientSession
) -> None:
    """A refused key raises ImmichAuthError, and the key never shows in repr."""
    bad = ImmichClient(session, server.url, "wrong-key")
    await bad.async_ping()  # ping needs no key
    with pytest.raises(ImmichAuthError):
        await bad.async_get_me()
    assert "wrong-key" not in repr(bad)


@pytest.mark.parametrize(
    ("arrange", "error"),
    [
        (lambda s: s.fail(403), ImmichAuthError),
        (lambda s: s.fail(500), ImmichConnectionError),
        (lambda s: s.fail(409), ImmichResponseError),
        (lambda s: s.fail(400), ImmichBadRequestError),
        (lambda s: s.fail(404), ImmichNotFoundError),
        (lambda s: s.garbage(), ImmichResponseError),
        (lambda s: s.wrong_shape(), ImmichResponseError),
    ],
)
async def test_failures_map_to_clear_errors(
    v3_server: FakeImmichServer, v3_client: ImmichClient, arrange, error
) -> None:
    """Each kind of failure has its own exception type."""
    arrange(v3_server)
    with pytest.raises(error):
        await v3_client.async_get_albums()


async def test_timeout_and_refused_connection(
    v3_server: FakeImmichServer, session: aiohttp.ClientSession
) -> None:
    """A stalled or unreachable server is a connection error."""
    impatient = ImmichClient(session, v3_server.url, v3_server.api_key, timeout=0.2)
    v3_server.stall(1.0)
    with pytest.raises(ImmichConnectionError):
        await impatient.async_get_me()
    await v3_server.close()
    with pytest.raises(ImmichConnectionError):
        await impatient.async_get_me()


async def test_ping_must_answer_pong(
    v3_server: FakeImmichServer, v3_client: ImmichClient
) -> None:
    """Something that is not Immich fails validation."""
    v3_server.wrong_shape(path="/api/server/ping")
    with pytest.raises(ImmichResponseError):
        await v3_client.async_ping()


async def test_malformed_list_types(
    v3_server: FakeImmichServer, v3_client: ImmichClient
) -> None:
    """A list endpoint answering an object is malformed, not a crash."""
    v3_server.wrong_shape(path="/api/albums")
    with pytest.raises(ImmichResponseError):
        await v3_client.async_get_albums()
    v3_server.wrong_shape(path="/api/shared-links")
    with pytest.raises(ImmichResponseError):
        await v3_client.async_get_shared_links()
    album = v3_server.create_album("A", 2)
    v3_server.wrong_shape(path="/api/search/metadata")
    with pytest.raises(ImmichResponseError):
        await v3_client.async_list_album_assets(album)
    v3_server.wrong_shape(path="/api/search/metadata", body={"assets": {"items": 1}})
    with pytest.raises(ImmichResponseError, match="items"):
        await v3_client.async_list_album_assets(album)


async def test_album_list_shapes(
    server: FakeImmichServer, client: ImmichClient
) -> None:
    """Owned and shared albums come in one request, parsed the same on v2 and v3."""
    mine = server.create_album("Mine", 3, members={OTHER_ID: "editor"})
    theirs = server.create_album(
        "Theirs", 1, owner_id=OTHER_ID, members={ME_ID: "viewer"}
    )
    server.add_shared_link(mine)
    albums = {album.id: album for album in await client.async_get_albums()}
    assert server.paths["/api/albums"] == 1
    assert albums[mine].name == "Mine"
    assert albums[mine].asset_count == 3
    assert albums[mine].shared and albums[mine].has_shared_link
    assert albums[mine].owner is not None and albums[mine].owner.name == "Alice"
    assert albums[theirs].owner is not None and albums[theirs].owner.name == "Bob"
    assert albums[mine].user_names()[OTHER_ID] == "Bob"
    assert albums[mine].last_modified_asset_timestamp is not None
    single = await client.async_get_album(mine)
    assert single.id == mine
    assert await client.async_album_exists(mine)
    assert not await client.async_album_exists("00000000-0000-4000-8000-000000000000")


async def test_listing_includes_other_users_assets(
    server: FakeImmichServer, client: ImmichClient
) -> None:
    """Shared-album members added by someone else are listed on both versions."""
    album = server.create_album("Family", 4, members={OTHER_ID: "editor"})
    theirs = server.add_assets(album, 2, owner_id=OTHER_ID)
    processing = server.add_assets(album, 1, processing=True)
    listing = {asset.id: asset for asset in await client.async_list_album_assets(album)}
    assert len(listing) == 7
    assert set(theirs) <= listing.keys()
    assert not listing[processing[0]].ready
    assert listing[theirs[0]].ready
    expected = f"/api/albums/{album}" if server.version == 2 else "/api/search/metadata"
    assert server.paths[expected] == 1


async def test_v3_listing_pages(
    v3_server: FakeImmichServer, session: aiohttp.ClientSession
) -> None:
    """The search listing follows nextPage until the end."""
    album = v3_server.create_album("Big", 25)
    paged = ImmichClient(session, v3_server.url, v3_server.api_key, page_size=10)
    assert len(await paged.async_list_album_assets(album)) == 25
    assert v3_server.paths["/api/search/metadata"] == 3


async def test_shape_detection_when_version_claims_v2(
    v3_server: FakeImmichServer, v3_client: ImmichClient
) -> None:
    """An album detail without `assets` falls back to search, whatever the version says."""
    v3_server.reported_major = 2
    album = v3_server.create_album("A", 5)
    assert len(await v3_client.async_list_album_assets(album)) == 5
    assert v3_server.paths[f"/api/albums/{album}"] == 1
    assert v3_server.paths["/api/search/metadata"] == 1


async def test_details_are_batched(
    v3_server: FakeImmichServer, v3_client: ImmichClient
) -> None:
    """Details of new assets come from one search narrowed by updatedAfter."""
    album = v3_server.create_album("A", 50)
    new = v3_server.add_assets(album, 3, people=["Ann", "Ben"])
    listing = {a.id: a for a in await v3_client.async_list_album_assets(album)}
    v3_server.reset_counters()
    details = await v3_client.async_get_asset_details(
        album, {asset_id: listing[asset_id].updated_at for asset_id in new}
    )
    assert set(details) == set(new)
    assert v3_server.requests == 1
    first = details[new[0]]
    assert first.people == ("Ann", "Ben")
    assert first.city == "Lisbon" and first.country == "Portugal"
    assert first.type is AssetType.IMAGE
    assert first.taken_at is not None
    assert first.ready
    assert await v3_client.async_get_asset_details(album, {}) == {}


async def test_details_fall_back_one_by_one(
    v3_server: FakeImmichServer, v3_client: ImmichClient
) -> None:
    """What the search misses is fetched individually; deleted assets are left out."""
    album = v3_server.create_album("A", 2)
    assets = list(v3_server.albums[album].asset_ids)
    v3_server.delete_assets(assets[:1])
    # An updatedAt in the future makes the search miss the live asset too.
    wanted = dict.fromkeys(assets, "2999-01-01T00:00:00.000Z")
    details = await v3_client.async_get_asset_details(album, wanted)
    assert set(details) == {assets[1]}
    assert v3_server.paths[f"/api/assets/{assets[0]}"] == 1
    assert v3_server.paths[f"/api/assets/{assets[1]}"] == 1
    assert details[assets[1]].owner_name == "Alice"


async def test_shared_links(
    v3_server: FakeImmichServer, v3_client: ImmichClient
) -> None:
    """Shared links parse and an unexpired link of the album is picked."""
    album = v3_server.create_album("A", 1)
    other = v3_server.create_album("B", 1)
    now = datetime.now(UTC)
    v3_server.add_shared_link(other)
    v3_server.add_shared_link(album, expires_at=now - timedelta(days=1))
    key = v3_server.add_shared_link(album, expires_at=now + timedelta(days=1))
    links = await v3_client.async_get_shared_links()
    assert len(links) == 3
    picked = pick_album_link(links, album, now)
    assert picked is not None and picked.key == key
    assert pick_album_link(links, "missing", now) is None


def test_pick_album_link_edge_cases() -> None:
    """Naive and unparsable expiry times are handled."""
    now = datetime(2025, 1, 1, tzinfo=UTC)
    naive = SharedLink("1", "k1", "a", "2030-01-01T00:00:00")
    broken = SharedLink("2", "k2", "a", "not a date")
    assert pick_album_link([broken, naive], "a", now) == naive
    assert pick_album_link([broken], "a", now) is None


@pytest.mark.parametrize(
    ("variant", "size"),
    [
        (MediaVariant.THUMBNAIL, 4_000),
        (MediaVariant.PREVIEW, 20_000),
        (MediaVariant.ORIGINAL, 2048),
        (MediaVariant.PLAYBACK, 2048),
    ],
)
async def test_downloads(
    v3_server: FakeImmichServer,
    v3_client: ImmichClient,
    variant: MediaVariant,
    size: int,
) -> None:
    """Every rendition downloads with the key and an identity for upload caches."""
    album = v3_server.create_album("A")
    (video,) = v3_server.add_assets(album, 1, type="VIDEO")
    blob = await v3_client.async_download(video, variant, max_bytes=1_000_000)
    assert len(blob.data) == size
    assert blob.identity == f"immich:{video}:{variant.value}"
    details = await v3_client.async_get_asset(video)
    assert details is not None
    item = media_item(details, blob)
    expected = (
        MediaType.VIDEO
        if variant in (MediaVariant.ORIGINAL, MediaVariant.PLAYBACK)
        else MediaType.PHOTO
    )
    assert item.type is expected
    assert item.identity == blob.identity
    assert item.filename == details.file_name


@pytest.mark.parametrize("chunked", [False, True])
async def test_download_is_bounded(
    v3_server: FakeImmichServer, v3_client: ImmichClient, chunked: bool
) -> None:
    """A body over the bound is refused, with or without Content-Length."""
    v3_server.chunked_media = chunked
    album = v3_server.create_album("A")
    (asset,) = v3_server.add_assets(album, 1)
    v3_server.assets[asset].original_size = 200_000
    with pytest.raises(ImmichMediaTooLargeError):
        await v3_client.async_download(asset, MediaVariant.ORIGINAL, max_bytes=100_000)
    blob = await v3_client.async_download(
        asset, MediaVariant.ORIGINAL, max_bytes=300_000
    )
    assert len(blob.data) == 200_000


async def test_download_failures(
    v3_server: FakeImmichServer, v3_client: ImmichClient, session: aiohttp.ClientSession
) -> None:
    """A processing asset has no thumbnail yet; a dead server is a connection error."""
    album = v3_server.create_album("A")
    (asset,) = v3_server.add_assets(album, 1, processing=True)
    with pytest.raises(ImmichNotFoundError):
        await v3_client.async_download(asset, MediaVariant.THUMBNAIL, max_bytes=10_000)
    assert (
        await v3_client.async_get_asset("00000000-0000-4000-8000-000000000000") is None
    )
    impatient = ImmichClient(session, v3_server.url, v3_server.api_key, timeout=0.2)
    v3_server.stall(1.0)
    with pytest.raises(ImmichConnectionError):
        await impatient.async_download(asset, MediaVariant.ORIGINAL, max_bytes=10_000)


def test_parsing_helpers() -> None:
    """Small parsers tolerate what Immich may send and refuse what it must not."""
    assert client_module._next_page(None) is None
    assert client_module._next_page("3") == 3
    with pytest.raises(ImmichResponseError):
        client_module._next_page("next")
    assert client_module._minus_margin("garbage") == "garbage"
    assert (
        client_module._minus_margin("2025-01-01T00:00:01")
        == "2025-01-01T00:00:00+00:00"
    )
    assert client_module._parse_type("PANORAMA") is AssetType.OTHER
    with pytest.raises(ImmichResponseError):
        client_module._int({"major": True}, "major")
    with pytest.raises(ImmichResponseError):
        client_module._str({}, "id")
    v3_album = {
        "id": "a",
        "albumName": "A",
        "assetCount": 0,
        "updatedAt": "2025-01-01T00:00:00.000Z",
        "albumUsers": [{"user": {"id": "u", "name": "Uma"}, "role": "owner"}],
    }
    parsed = client_module._parse_album(v3_album)
    assert parsed.owner is not None and parsed.owner.name == "Uma"
    assert parsed.last_modified_asset_timestamp is None
    with pytest.raises(ImmichResponseError, match="UUID"):
        client_module._parse_lean({"id": "x", "updatedAt": "t"})
    details = client_module._parse_details(
        {
            "id": "29e821a4-c748-43e3-9ba1-621582283d15",
            "updatedAt": "2025-01-01T00:00:00.000Z",
            "exifInfo": {"rating": True},
            "people": [{"name": ""}, "junk", {"name": "Ann"}],
        }
    )
    assert details.rating is None
    assert details.people == ("Ann",)
    assert details.type is AssetType.OTHER
    assert not details.ready
    assert client_module._parse_album_users(None) == ()
    assert client_module._parse_people("Ann") == ()
