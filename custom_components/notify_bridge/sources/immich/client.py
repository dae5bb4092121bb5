"""Async client of the Immich REST API (v2 and v3), independent of Home Assistant.

Only what album watching needs: server checks, the album list, lean asset listings
of one album, details of a few assets, shared links and bounded media downloads.
Every response is parsed into frozen dataclasses (`models.py`) by `parsing.py`, so
nothing downstream handles raw JSON and a malformed answer fails in one place with
`ImmichResponseError`. This module keeps the HTTP side: requests, status mapping,
bounded downloads, and how an album is listed on v2 (embedded in the album) versus v3
(paged search).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
import json
from typing import Any

import aiohttp
from yarl import URL

from ...net import split_url_credentials
from .models import (
    AlbumSummary,
    AlbumUser,
    AssetDetails,
    AssetType,
    DatedAsset,
    HasId,
    ImmichAuthError,
    ImmichBadRequestError,
    ImmichConnectionError,
    ImmichError,
    ImmichMediaTooLargeError,
    ImmichNotFoundError,
    ImmichResponseError,
    ImmichUser,
    LeanAsset,
    MediaBlob,
    MediaVariant,
    ServerVersion,
    SharedLink,
    pick_album_link,
)
from .parsing import (  # noqa: F401 - re-exported: tests reach the parsers here
    _int,
    _mapping,
    _parse_album,
    _parse_album_users,
    _parse_dated,
    _parse_details,
    _parse_lean,
    _parse_people,
    _parse_shared_link,
    _parse_type,
    _parse_user,
    _parse_version,
    _str,
)

# The client's public home: the answer types and errors moved to `models.py` are
# re-exported, so `from .client import AssetDetails, ImmichError` keeps working.
__all__ = [
    "API_KEY_HEADER",
    "CHUNK_SIZE",
    "DEFAULT_TIMEOUT",
    "DETAIL_CONCURRENCY",
    "SEARCH_PAGE_SIZE",
    "UPDATED_AFTER_MARGIN",
    "AlbumSummary",
    "AlbumUser",
    "AssetDetails",
    "AssetType",
    "DatedAsset",
    "ImmichAuthError",
    "ImmichBadRequestError",
    "ImmichClient",
    "ImmichConnectionError",
    "ImmichError",
    "ImmichMediaTooLargeError",
    "ImmichNotFoundError",
    "ImmichResponseError",
    "ImmichUser",
    "LeanAsset",
    "MediaBlob",
    "MediaVariant",
    "ServerVersion",
    "SharedLink",
    "pick_album_link",
]

API_KEY_HEADER = "x-api-key"
# Largest page `POST /api/search/metadata` accepts; fewer round trips per listing.
SEARCH_PAGE_SIZE = 1000
DEFAULT_TIMEOUT = 30.0
# Per-asset detail requests that may run at once (fallback path only).
DETAIL_CONCURRENCY = 4
CHUNK_SIZE = 64 * 1024
# `updatedAfter` is compared with database timestamps; a margin absorbs rounding.
UPDATED_AFTER_MARGIN = timedelta(seconds=1)


class ImmichClient:
    """Talks to one Immich server with one API key over a caller-owned session."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        api_key: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        page_size: int = SEARCH_PAGE_SIZE,
        verify_ssl: bool = True,
    ) -> None:
        """Keep the session, the server root and the key (never logged).

        Credentials in the URL (a reverse proxy's basic auth) are kept only as the
        header every request sends: the URL shown, linked and logged has none.
        """
        self._session = session
        bare_url, self._proxy_auth = split_url_credentials(base_url.rstrip("/"))
        self._base = URL(bare_url)
        self._api_key = api_key
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._page_size = page_size
        # True = aiohttp's default verification; False allows self-signed LAN servers.
        self._ssl = verify_ssl
        self._version: ServerVersion | None = None

    def __repr__(self) -> str:
        """Describe the client without its API key."""
        return f"ImmichClient({str(self._base)!r})"

    @property
    def base_url(self) -> str:
        """Return the server root URL."""
        return str(self._base)

    # --- server -----------------------------------------------------------------

    async def async_ping(self) -> None:
        """Check that an Immich server answers at the URL."""
        data = await self._request_json("GET", "/api/server/ping", auth=False)
        if _mapping(data).get("res") != "pong":
            raise ImmichResponseError("server ping did not answer pong")

    async def async_get_version(self) -> ServerVersion:
        """Return the server version (asked once, then remembered)."""
        if self._version is None:
            self._version = _parse_version(
                await self._request_json("GET", "/api/server/version")
            )
        return self._version

    async def async_get_me(self) -> ImmichUser:
        """Return the user the API key belongs to (this validates the key)."""
        return _parse_user(await self._request_json("GET", "/api/users/me"))

    async def async_validate(self) -> tuple[ServerVersion, ImmichUser]:
        """Run every check a new or re-authenticated entry needs, in order."""
        await self.async_ping()
        version = await self.async_get_version()
        return version, await self.async_get_me()

    # --- albums -----------------------------------------------------------------

    async def async_get_albums(self) -> tuple[AlbumSummary, ...]:
        """Return every album the key can see, owned and shared, in ONE request."""
        data = await self._request_json("GET", "/api/albums")
        if not isinstance(data, list):
            raise ImmichResponseError("album list is not a JSON array")
        return tuple(_parse_album(item) for item in data)

    async def async_get_album(self, album_id: str) -> AlbumSummary:
        """Return one album without its assets."""
        data = await self._request_json(
            "GET", f"/api/albums/{album_id}", params={"withoutAssets": "true"}
        )
        return _parse_album(data)

    async def async_album_exists(self, album_id: str) -> bool:
        """Return whether the key can still read the album (confirms a deletion)."""
        try:
            await self.async_get_album(album_id)
        except ImmichNotFoundError, ImmichBadRequestError:
            return False
        return True

    async def async_list_album_assets(self, album_id: str) -> tuple[LeanAsset, ...]:
        """Return every asset of an album, lean (no EXIF, no people).

        v2 embeds the members in the album detail, which (unlike v2's search) also
        holds assets other users added to a shared album; v3 removed that list, so
        it pages `POST /api/search/metadata`, which on v3 covers every member.
        """
        return await self._list_album(album_id, _parse_lean)

    async def async_list_album_dated(
        self, album_id: str, keep: Callable[[DatedAsset], bool] | None = None
    ) -> tuple[DatedAsset, ...]:
        """Return an album's members with the day each was taken (for memories).

        `keep` sees every member as its page arrives and says whether to keep it, so
        choosing a few from a 100,000-asset album never holds the whole album.
        """
        return await self._list_album(album_id, _parse_dated, keep)

    async def _list_album[T: HasId](
        self,
        album_id: str,
        parse: Callable[[Any], T],
        keep: Callable[[T], bool] | None = None,
    ) -> tuple[T, ...]:
        version = await self.async_get_version()
        if version.lists_assets_in_album:
            data = _mapping(
                await self._request_json(
                    "GET", f"/api/albums/{album_id}", params={"withoutAssets": "false"}
                )
            )
            items = data.get("assets")
            if isinstance(items, list):
                parsed = (parse(item) for item in items)
                return tuple(i for i in parsed if keep is None or keep(i))
        return tuple(
            await self._search_album(album_id, parse, details=False, keep=keep)
        )

    async def async_get_asset_details(
        self, album_id: str, wanted: Mapping[str, str]
    ) -> dict[str, AssetDetails]:
        """Return details of the wanted assets (id → last seen `updatedAt`).

        One paged search narrowed by `updatedAfter` to the oldest wanted change time
        fetches them together (an asset only moves forward in time); what it misses
        (v2 search hides other users' assets) is asked for one by one. Assets that
        no longer exist are left out of the answer.
        """
        if not wanted:
            return {}
        found: dict[str, AssetDetails] = {}
        oldest = min(wanted.values())
        for details in await self._search_album(
            album_id,
            _parse_details,
            details=True,
            updated_after=_minus_margin(oldest),
            wanted=frozenset(wanted),
        ):
            found[details.id] = details
        missing = [asset_id for asset_id in wanted if asset_id not in found]
        found.update(await self.async_get_assets(missing))
        return found

    async def async_get_asset(self, asset_id: str) -> AssetDetails | None:
        """Return one asset with EXIF and people, or None when it is gone."""
        try:
            data = await self._request_json("GET", f"/api/assets/{asset_id}")
        except ImmichNotFoundError:
            return None
        return _parse_details(data)

    async def async_get_shared_links(self) -> tuple[SharedLink, ...]:
        """Return the key owner's shared links."""
        data = await self._request_json("GET", "/api/shared-links")
        if not isinstance(data, list):
            raise ImmichResponseError("shared link list is not a JSON array")
        return tuple(_parse_shared_link(item) for item in data)

    # --- media ------------------------------------------------------------------

    async def async_download(
        self, asset_id: str, variant: MediaVariant, *, max_bytes: int
    ) -> MediaBlob:
        """Stream one rendition of an asset, refusing more than `max_bytes`."""
        path, params = _media_path(asset_id, variant)
        try:
            async with self._session.get(
                self._base.with_path(path),
                params=params,
                headers=self._headers(),
                timeout=self._timeout,
                ssl=self._ssl,
            ) as response:
                _raise_for_status(response.status, path)
                if (response.content_length or 0) > max_bytes:
                    raise ImmichMediaTooLargeError(
                        f"{variant} of {asset_id} is {response.content_length} bytes"
                    )
                data = await _read_bounded(response, max_bytes, asset_id, variant)
                content_type = response.headers.get("Content-Type")
        except (TimeoutError, aiohttp.ClientError) as err:
            raise ImmichConnectionError(f"download of {path} failed: {err}") from err
        return MediaBlob(asset_id, variant, data, content_type)

    # --- internals --------------------------------------------------------------

    async def _search_album[T: HasId](
        self,
        album_id: str,
        parse: Callable[[Any], T],
        *,
        details: bool,
        updated_after: str | None = None,
        wanted: frozenset[str] | None = None,
        keep: Callable[[T], bool] | None = None,
    ) -> list[T]:
        """Page through `POST /api/search/metadata` for one album.

        Each page is parsed as it arrives, so a 100,000-asset album never holds
        more than one page of raw JSON at a time. With `wanted`, only those assets
        are kept and paging stops as soon as all of them were seen.
        """
        items: list[T] = []
        seen: set[str] = set()
        page: int | None = 1
        while page is not None:
            body: dict[str, Any] = {
                "albumIds": [album_id],
                "page": page,
                "size": self._page_size,
                "withExif": details,
                "withPeople": details,
            }
            if updated_after is not None:
                body["updatedAfter"] = updated_after
            data = _mapping(
                await self._request_json("POST", "/api/search/metadata", json_body=body)
            )
            assets = _mapping(data.get("assets"))
            page_items = assets.get("items")
            if not isinstance(page_items, list):
                raise ImmichResponseError("search answer has no assets.items list")
            parsed = [parse(item) for item in page_items]
            if keep is not None:
                parsed = [item for item in parsed if keep(item)]
            if wanted is None:
                items.extend(parsed)
            else:
                items.extend(item for item in parsed if item.id in wanted)
                seen.update(item.id for item in parsed)
                if wanted <= seen:
                    break
            page = _next_page(assets.get("nextPage"))
        return items

    async def async_get_assets(
        self, asset_ids: Sequence[str]
    ) -> dict[str, AssetDetails]:
        """Fetch assets individually, a few at a time; gone ones are left out.

        Immich has no bulk asset lookup outside an album, so callers keep the list
        short (the fallback of `async_get_asset_details`, a capped few removals).
        """
        limit = asyncio.Semaphore(DETAIL_CONCURRENCY)

        async def fetch(asset_id: str) -> AssetDetails | None:
            async with limit:
                return await self.async_get_asset(asset_id)

        results = await asyncio.gather(*(fetch(asset_id) for asset_id in asset_ids))
        return {item.id: item for item in results if item is not None}

    def _headers(self, *, auth: bool = True) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if auth:
            headers[API_KEY_HEADER] = self._api_key
        if self._proxy_auth is not None:
            # The proxy in front asks for it on every request, the ping included.
            headers["Authorization"] = self._proxy_auth
        return headers

    async def _request_json(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        auth: bool = True,
    ) -> Any:
        """Send one request and return its decoded JSON body."""
        headers = self._headers(auth=auth)
        try:
            async with self._session.request(
                method,
                self._base.with_path(path),
                params=params,
                json=json_body,
                headers=headers,
                timeout=self._timeout,
                ssl=self._ssl,
            ) as response:
                _raise_for_status(response.status, path)
                body = await response.read()
        except (TimeoutError, aiohttp.ClientError) as err:
            raise ImmichConnectionError(f"{method} {path} failed: {err!r}") from err
        return _decode_json(body, path)


# --- parsing helpers (module level: pure functions, easy to test) -------------------


def _raise_for_status(status: int, path: str) -> None:
    """Map an HTTP status to the exception the caller can act on."""
    if status < 400:
        return
    if status in (401, 403):
        raise ImmichAuthError(f"{path}: API key refused ({status})")
    if status == 404:
        raise ImmichNotFoundError(f"{path}: not found")
    if status == 400:
        raise ImmichBadRequestError(f"{path}: bad request")
    if status >= 500:
        raise ImmichConnectionError(f"{path}: server error {status}")
    raise ImmichResponseError(f"{path}: unexpected status {status}")


def _decode_json(body: bytes, path: str) -> Any:
    try:
        return json.loads(body)
    except ValueError as err:
        raise ImmichResponseError(f"{path}: body is not JSON") from err


async def _read_bounded(
    response: aiohttp.ClientResponse,
    max_bytes: int,
    asset_id: str,
    variant: MediaVariant,
) -> bytes:
    """Read a body chunk by chunk, stopping as soon as it passes the bound."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(CHUNK_SIZE):
        size += len(chunk)
        if size > max_bytes:
            raise ImmichMediaTooLargeError(
                f"{variant} of {asset_id} is over {max_bytes} bytes"
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _media_path(asset_id: str, variant: MediaVariant) -> tuple[str, dict[str, str]]:
    if variant is MediaVariant.ORIGINAL:
        return f"/api/assets/{asset_id}/original", {}
    if variant is MediaVariant.PLAYBACK:
        return f"/api/assets/{asset_id}/video/playback", {}
    return f"/api/assets/{asset_id}/thumbnail", {"size": variant.value}


def _next_page(value: Any) -> int | None:
    """Return the next page number; Immich sends it as a string (or null)."""
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError) as err:
        raise ImmichResponseError(f"nextPage {value!r} is not a number") from err


def _minus_margin(timestamp: str) -> str:
    """Move an ISO timestamp back by the margin; unparsable values pass unchanged."""
    try:
        moment = datetime.fromisoformat(timestamp)
    except ValueError:
        return timestamp
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - UPDATED_AFTER_MARGIN).isoformat()
