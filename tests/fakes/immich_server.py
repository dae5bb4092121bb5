"""A fake Immich server: real aiohttp on 127.0.0.1, speaking the v2 and v3 shapes.

It serves what the Notify Bridge Immich source uses (ping, version, users/me, the album
list and detail, `POST /api/search/metadata` paging, asset details, thumbnails,
originals, video playback, shared links), checks `x-api-key`, counts requests and
response bytes, can fail on demand (any status, garbage JSON, stalls) and lets a test
change its state (add/remove assets, rename/delete albums, share, finish processing).

Version differences it reproduces:
- v2 embeds `assets` in `GET /api/albums/{id}`; v3 does not.
- v2 search is scoped to the caller's own assets (other users' assets in a shared
  album are missing); v3 returns every member of the album.
- v3 asset objects have no `deviceAssetId` / `deviceId`.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
import random
from typing import Any
import uuid

from aiohttp import web

API_KEY = "test-immich-key"
ME_ID = "8f0c1c2e-0000-4000-8000-000000000001"
OTHER_ID = "8f0c1c2e-0000-4000-8000-000000000002"
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
MAX_PAGE_SIZE = 1000

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def iso(moment: datetime) -> str:
    """Format like Immich: milliseconds and a Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )


@dataclass
class FakeUser:
    """An Immich user."""

    id: str
    name: str
    email: str

    def as_json(self) -> dict[str, Any]:
        """Return the UserResponseDto shape."""
        return {
            "id": self.id,
            "name": self.name,
            "email": self.email,
            "profileImagePath": "",
            "avatarColor": "primary",
            "profileChangedAt": iso(EPOCH),
        }


@dataclass
class FakeAsset:
    """One asset, with what the details and media endpoints need."""

    id: str
    owner_id: str
    file_name: str
    taken_at: datetime
    updated_at: datetime
    type: str = "IMAGE"
    processing: bool = False
    favorite: bool = False
    rating: int | None = None
    city: str | None = "Lisbon"
    country: str | None = "Portugal"
    description: str | None = None
    people: tuple[str, ...] = ()
    original_size: int = 2048
    # UTC offset where it was taken: Immich's `localDateTime` is that wall clock
    # (written with a Z), `fileCreatedAt` and `dateTimeOriginal` the UTC instant.
    local_offset: timedelta = timedelta(0)


@dataclass
class FakeAlbum:
    """One album."""

    id: str
    name: str
    owner_id: str
    updated_at: datetime
    created_at: datetime
    asset_ids: list[str] = field(default_factory=list)
    # user id → role, owner excluded.
    members: dict[str, str] = field(default_factory=dict)
    description: str = ""


@dataclass
class FakeSharedLink:
    """A shared link of an album."""

    id: str
    key: str
    album_id: str
    expires_at: datetime | None = None
    slug: str | None = None


@dataclass
class _Fault:
    path: str | None
    kind: str
    remaining: int
    status: int = 500
    seconds: float = 0.0
    body: Any = None


class FakeImmichServer:
    """The fake server; `await start()`, use `url`, `await close()`."""

    def __init__(
        self, *, version: int = 3, api_key: str = API_KEY, seed: int = 1
    ) -> None:
        """Create an empty server of an Immich major version (2 or 3)."""
        self.version = version
        self.api_key = api_key
        self.users = {
            ME_ID: FakeUser(ME_ID, "Alice", "alice@example.com"),
            OTHER_ID: FakeUser(OTHER_ID, "Bob", "bob@example.com"),
        }
        self.albums: dict[str, FakeAlbum] = {}
        self.assets: dict[str, FakeAsset] = {}
        self.shared_links: dict[str, FakeSharedLink] = {}
        self.requests = 0
        self.bytes_sent = 0
        self.paths: Counter[str] = Counter()
        # Send media with chunked encoding (no Content-Length) when True.
        self.chunked_media = False
        # Major version `/api/server/version` claims (None = the real one), to test
        # clients that must also detect the version from the response shape.
        self.reported_major: int | None = None
        # Albums left out of `GET /api/albums` while still readable by id.
        self.hidden_from_list: set[str] = set()
        # Assets still counted in their albums but gone for detail queries (an asset
        # deleted between a listing and the detail request).
        self.unreachable: set[str] = set()
        # The `Authorization` value a reverse proxy in front demands (basic auth from
        # `http://user:password@host` URLs); None = no proxy.
        self.proxy_auth: str | None = None
        self._faults: list[_Fault] = []
        self._random = random.Random(seed)
        self._tick = 0
        self._runner: web.AppRunner | None = None
        self.url = ""

    # --- lifecycle ----------------------------------------------------------------

    async def start(self) -> str:
        """Listen on 127.0.0.1 on a free port and return the base URL."""
        app = web.Application(middlewares=[self._count, self._faults_mw, self._auth])
        routes = [
            web.get("/api/server/ping", self._ping),
            web.get("/api/server/version", self._version),
            web.get("/api/users/me", self._me),
            web.get("/api/albums", self._albums),
            web.get("/api/albums/{id}", self._album),
            web.post("/api/search/metadata", self._search),
            web.get("/api/assets/{id}", self._asset),
            web.get("/api/assets/{id}/thumbnail", self._thumbnail),
            web.get("/api/assets/{id}/original", self._original),
            web.get("/api/assets/{id}/video/playback", self._playback),
            web.get("/api/shared-links", self._links),
        ]
        app.add_routes(routes)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self.url

    async def close(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- counters and faults ------------------------------------------------------

    def reset_counters(self) -> None:
        """Zero the request and byte counters."""
        self.requests = 0
        self.bytes_sent = 0
        self.paths.clear()

    def fail(self, status: int, *, path: str | None = None, times: int = 1) -> None:
        """Answer the next `times` requests (under `path`, if given) with `status`."""
        self._faults.append(_Fault(path, "status", times, status=status))

    def garbage(self, *, path: str | None = None, times: int = 1) -> None:
        """Answer the next requests with a body that is not JSON."""
        self._faults.append(_Fault(path, "garbage", times))

    def wrong_shape(
        self, *, path: str | None = None, times: int = 1, body: Any = None
    ) -> None:
        """Answer the next requests with valid JSON of the wrong shape."""
        self._faults.append(_Fault(path, "shape", times, body=body))

    def stall(self, seconds: float, *, path: str | None = None, times: int = 1) -> None:
        """Delay the next requests by `seconds` (longer than a client timeout)."""
        self._faults.append(_Fault(path, "stall", times, seconds=seconds))

    # --- state changes ------------------------------------------------------------

    def _now(self) -> datetime:
        """Return a strictly increasing fake time, so every change is visible."""
        self._tick += 1
        return EPOCH + timedelta(seconds=self._tick)

    def _new_id(self) -> str:
        return str(uuid.UUID(int=self._random.getrandbits(128), version=4))

    def create_album(
        self,
        name: str,
        assets: int = 0,
        *,
        owner_id: str = ME_ID,
        members: dict[str, str] | None = None,
    ) -> str:
        """Create an album with `assets` ready assets; return its id."""
        now = self._now()
        album = FakeAlbum(
            id=self._new_id(),
            name=name,
            owner_id=owner_id,
            updated_at=now,
            created_at=now,
            members=dict(members or {}),
        )
        self.albums[album.id] = album
        if assets:
            self.add_assets(album.id, assets, owner_id=owner_id)
        return album.id

    def add_assets(
        self,
        album_id: str,
        count: int,
        *,
        processing: bool = False,
        owner_id: str = ME_ID,
        type: str = "IMAGE",
        people: Iterable[str] = (),
    ) -> list[str]:
        """Upload `count` new assets into an album; return their ids."""
        album = self.albums[album_id]
        now = self._now()
        ids: list[str] = []
        for index in range(count):
            asset = FakeAsset(
                id=self._new_id(),
                owner_id=owner_id,
                file_name=f"IMG_{len(self.assets) + 1:05d}.{'mp4' if type == 'VIDEO' else 'jpg'}",
                taken_at=EPOCH - timedelta(days=1, seconds=len(self.assets)),
                updated_at=now,
                type=type,
                processing=processing,
                favorite=index % 7 == 0,
                rating=index % 6 or None,
                description=f"photo {index}" if index % 3 == 0 else None,
                people=tuple(people),
            )
            self.assets[asset.id] = asset
            ids.append(asset.id)
        self.add_existing(album_id, ids)
        album.updated_at = now
        return ids

    def add_existing(self, album_id: str, asset_ids: Iterable[str]) -> None:
        """Put existing assets into an album (bumps the album's updatedAt)."""
        album = self.albums[album_id]
        for asset_id in asset_ids:
            if asset_id not in album.asset_ids:
                album.asset_ids.append(asset_id)
        album.updated_at = self._now()

    def remove_assets(self, album_id: str, asset_ids: Iterable[str]) -> None:
        """Take assets out of an album (Immich does not bump updatedAt for this)."""
        drop = set(asset_ids)
        album = self.albums[album_id]
        album.asset_ids = [a for a in album.asset_ids if a not in drop]

    def delete_assets(self, asset_ids: Iterable[str]) -> None:
        """Delete assets from the server and every album."""
        drop = set(asset_ids)
        for album in self.albums.values():
            album.asset_ids = [a for a in album.asset_ids if a not in drop]
        for asset_id in drop:
            self.assets.pop(asset_id, None)

    def rename_album(self, album_id: str, name: str) -> None:
        """Rename an album."""
        self.albums[album_id].name = name
        self.albums[album_id].updated_at = self._now()

    def delete_album(self, album_id: str) -> None:
        """Delete an album (its assets stay)."""
        del self.albums[album_id]
        for key in [k for k, v in self.shared_links.items() if v.album_id == album_id]:
            del self.shared_links[key]

    def share_album(
        self, album_id: str, user_id: str = OTHER_ID, role: str = "editor"
    ) -> None:
        """Share an album with a user (Immich does not bump updatedAt for this)."""
        self.albums[album_id].members[user_id] = role

    def unshare_album(self, album_id: str, user_id: str = OTHER_ID) -> None:
        """Stop sharing an album with a user."""
        self.albums[album_id].members.pop(user_id, None)

    def add_shared_link(
        self,
        album_id: str,
        *,
        expires_at: datetime | None = None,
        slug: str | None = None,
    ) -> str:
        """Create a shared link for an album; return its key."""
        link = FakeSharedLink(
            self._new_id(), f"key-{len(self.shared_links)}", album_id, expires_at, slug
        )
        self.shared_links[link.id] = link
        return link.key

    def set_taken(
        self,
        asset_ids: Iterable[str],
        taken_at: datetime,
        *,
        local_offset: timedelta = timedelta(0),
    ) -> None:
        """Say when (a UTC instant) and at which UTC offset assets were taken."""
        for asset_id in asset_ids:
            self.assets[asset_id].taken_at = taken_at
            self.assets[asset_id].local_offset = local_offset

    def mark_ready(self, asset_ids: Iterable[str], *, touch: bool = True) -> None:
        """Finish processing: the thumbhash appears (and updatedAt moves, as in Immich)."""
        now = self._now()
        for asset_id in asset_ids:
            self.assets[asset_id].processing = False
            if touch:
                self.assets[asset_id].updated_at = now

    # --- JSON shapes --------------------------------------------------------------

    def _asset_json(
        self, asset: FakeAsset, *, exif: bool, people: bool
    ) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": asset.id,
            "ownerId": asset.owner_id,
            "type": asset.type,
            "originalFileName": asset.file_name,
            "originalPath": f"/upload/{asset.owner_id}/{asset.file_name}",
            "originalMimeType": "video/mp4" if asset.type == "VIDEO" else "image/jpeg",
            "fileCreatedAt": iso(asset.taken_at),
            "fileModifiedAt": iso(asset.taken_at),
            "localDateTime": iso(asset.taken_at + asset.local_offset),
            "updatedAt": iso(asset.updated_at),
            "isFavorite": asset.favorite,
            "isArchived": False,
            "isTrashed": False,
            "isOffline": False,
            "visibility": "timeline",
            "duration": "0:00:05.000" if asset.type == "VIDEO" else "0:00:00.00000",
            "checksum": "c2hhMQ==",
            "hasMetadata": exif,
            "thumbhash": None if asset.processing else "1QcSHQRnh493V4dIh4eXh1h4kJUI",
            "livePhotoVideoId": None,
            "duplicateId": None,
            "isEdited": False,
        }
        if self.version < 3:
            data["deviceAssetId"] = f"device-{asset.id[:8]}"
            data["deviceId"] = "fake-phone"
        if exif:
            data["exifInfo"] = {
                "city": asset.city,
                "country": asset.country,
                "state": None,
                "description": asset.description or "",
                "dateTimeOriginal": iso(asset.taken_at),
                "rating": asset.rating,
                "make": "Fake",
                "model": "Cam 1",
                "exifImageWidth": 4000,
                "exifImageHeight": 3000,
                "fileSizeInByte": asset.original_size,
            }
        if people:
            data["people"] = [
                {
                    "id": str(uuid.uuid5(uuid.NAMESPACE_DNS, name)),
                    "name": name,
                    "birthDate": None,
                    "isHidden": False,
                    "thumbnailPath": "",
                    "faces": [],
                }
                for name in asset.people
            ]
        return data

    def _album_json(self, album: FakeAlbum, *, with_assets: bool) -> dict[str, Any]:
        members = [
            {"user": self.users[user_id].as_json(), "role": role}
            for user_id, role in sorted(album.members.items())
        ]
        if self.version >= 3:
            members.insert(
                0, {"user": self.users[album.owner_id].as_json(), "role": "owner"}
            )
        assets = [self.assets[a] for a in album.asset_ids if a in self.assets]
        has_link = any(link.album_id == album.id for link in self.shared_links.values())
        last_modified = max((a.updated_at for a in assets), default=None)
        data: dict[str, Any] = {
            "id": album.id,
            "albumName": album.name,
            "description": album.description,
            "albumThumbnailAssetId": album.asset_ids[0] if album.asset_ids else None,
            "createdAt": iso(album.created_at),
            "updatedAt": iso(album.updated_at),
            "albumUsers": members,
            "shared": bool(album.members) or has_link,
            "hasSharedLink": has_link,
            "assetCount": len(assets),
            "isActivityEnabled": True,
            "order": "desc",
        }
        if last_modified is not None:
            data["lastModifiedAssetTimestamp"] = iso(last_modified)
            data["startDate"] = iso(min(a.taken_at for a in assets))
            data["endDate"] = iso(max(a.taken_at for a in assets))
        if self.version < 3:
            data["ownerId"] = album.owner_id
            data["owner"] = self.users[album.owner_id].as_json()
            data["assets"] = (
                [self._asset_json(a, exif=False, people=False) for a in assets]
                if with_assets
                else []
            )
        return data

    # --- middlewares --------------------------------------------------------------

    @web.middleware
    async def _count(
        self, request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        self.requests += 1
        self.paths[request.path] += 1
        response = await handler(request)
        if isinstance(response, web.Response) and response.body is not None:
            self.bytes_sent += len(response.body)  # type: ignore[arg-type]
        return response

    @web.middleware
    async def _faults_mw(
        self, request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        for fault in self._faults:
            if fault.remaining <= 0 or (
                fault.path and not request.path.startswith(fault.path)
            ):
                continue
            fault.remaining -= 1
            if fault.kind == "stall":
                await asyncio.sleep(fault.seconds)
                break
            if fault.kind == "garbage":
                return web.Response(
                    body=b"<html>502 Bad Gateway</html>",
                    content_type="application/json",
                )
            if fault.kind == "shape":
                return web.json_response(
                    {"unexpected": True} if fault.body is None else fault.body
                )
            return web.json_response(
                {"message": "fake failure", "statusCode": fault.status},
                status=fault.status,
            )
        self._faults = [f for f in self._faults if f.remaining > 0]
        return await handler(request)

    @web.middleware
    async def _auth(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if (
            self.proxy_auth is not None
            and request.headers.get("Authorization") != self.proxy_auth
        ):
            return web.Response(
                status=401, headers={"WWW-Authenticate": 'Basic realm="proxy"'}
            )
        if (
            request.path != "/api/server/ping"
            and request.headers.get("x-api-key") != self.api_key
        ):
            return web.json_response(
                {
                    "message": "Invalid API key",
                    "error": "Unauthorized",
                    "statusCode": 401,
                },
                status=401,
            )
        return await handler(request)

    # --- handlers -----------------------------------------------------------------

    async def _ping(self, request: web.Request) -> web.Response:
        return web.json_response({"res": "pong"})

    async def _version(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "major": self.reported_major or self.version,
                "minor": 7 if self.version < 3 else 1,
                "patch": 5,
            }
        )

    async def _me(self, request: web.Request) -> web.Response:
        user = self.users[ME_ID]
        return web.json_response(
            {**user.as_json(), "isAdmin": True, "storageLabel": "admin"}
        )

    def _visible(self, album: FakeAlbum) -> bool:
        return album.owner_id == ME_ID or ME_ID in album.members

    async def _albums(self, request: web.Request) -> web.Response:
        shared = request.query.get("shared")
        albums = [
            a
            for a in self.albums.values()
            if self._visible(a) and a.id not in self.hidden_from_list
        ]
        if shared == "true":
            albums = [a for a in albums if a.members or a.owner_id != ME_ID]
        return web.json_response(
            [self._album_json(a, with_assets=False) for a in albums]
        )

    async def _album(self, request: web.Request) -> web.Response:
        album = self.albums.get(request.match_info["id"])
        if album is None or not self._visible(album):
            # Immich answers 400 for ids the caller cannot read.
            return web.json_response(
                {"message": "Not found or no album.read access", "statusCode": 400},
                status=400,
            )
        with_assets = request.query.get("withoutAssets", "false") != "true"
        return web.json_response(self._album_json(album, with_assets=with_assets))

    async def _search(self, request: web.Request) -> web.Response:
        body = await request.json()
        page, size = body.get("page", 1), body.get("size", 250)
        if (
            not isinstance(page, int)
            or not isinstance(size, int)
            or not 1 <= size <= MAX_PAGE_SIZE
        ):
            return web.json_response(
                {"message": "invalid page/size", "statusCode": 400}, status=400
            )
        assets = self._search_matches(body)
        assets.sort(key=lambda a: (a.taken_at, a.id), reverse=True)
        start = (page - 1) * size
        items = assets[start : start + size]
        more = start + size < len(assets)
        with_exif, with_people = (
            bool(body.get("withExif")),
            bool(body.get("withPeople")),
        )
        return web.json_response(
            {
                "albums": {"total": 0, "count": 0, "items": [], "facets": []},
                "assets": {
                    "total": len(assets),
                    "count": len(items),
                    "items": [
                        self._asset_json(a, exif=with_exif, people=with_people)
                        for a in items
                    ],
                    "facets": [],
                    "nextPage": str(page + 1) if more else None,
                },
            }
        )

    def _search_matches(self, body: dict[str, Any]) -> list[FakeAsset]:
        album_ids = body.get("albumIds") or []
        if album_ids:
            ids: set[str] = set()
            for album_id in album_ids:
                album = self.albums.get(album_id)
                if album is not None and self._visible(album):
                    ids.update(album.asset_ids)
            assets = [self.assets[a] for a in ids if a in self.assets]
        else:
            assets = list(self.assets.values())
        if self.version < 3:
            # v2 scopes search to the caller's own assets, even inside shared albums.
            assets = [a for a in assets if a.owner_id == ME_ID]
        if body.get("withExif"):
            assets = [a for a in assets if a.id not in self.unreachable]
        after = body.get("updatedAfter")
        if after:
            moment = datetime.fromisoformat(after)
            assets = [a for a in assets if a.updated_at >= moment]
        return assets

    def _lookup(self, request: web.Request) -> FakeAsset | None:
        return self.assets.get(request.match_info["id"])

    async def _asset(self, request: web.Request) -> web.Response:
        asset = self._lookup(request)
        if asset is None:
            return web.json_response(
                {"message": "Asset not found", "statusCode": 404}, status=404
            )
        if asset.id in self.unreachable:
            return web.json_response(
                {"message": "Asset not found", "statusCode": 404}, status=404
            )
        data = self._asset_json(asset, exif=True, people=True)
        # Only the single-asset endpoint embeds the owner.
        data["owner"] = self.users[asset.owner_id].as_json()
        return web.json_response(data)

    async def _media(
        self, request: web.Request, data: bytes, content_type: str
    ) -> web.StreamResponse:
        if not self.chunked_media:
            return web.Response(body=data, content_type=content_type)
        response = web.StreamResponse(headers={"Content-Type": content_type})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(data), 16 * 1024):
            await response.write(data[start : start + 16 * 1024])
            self.bytes_sent += min(16 * 1024, len(data) - start)
        await response.write_eof()
        return response

    async def _thumbnail(self, request: web.Request) -> web.StreamResponse:
        asset = self._lookup(request)
        if asset is None or asset.processing:
            return web.json_response(
                {"message": "not found", "statusCode": 404}, status=404
            )
        size = 20_000 if request.query.get("size") == "preview" else 4_000
        return await self._media(request, b"\xff\xd8" + b"t" * (size - 2), "image/jpeg")

    async def _original(self, request: web.Request) -> web.StreamResponse:
        asset = self._lookup(request)
        if asset is None:
            return web.json_response(
                {"message": "not found", "statusCode": 404}, status=404
            )
        kind = "video/mp4" if asset.type == "VIDEO" else "image/jpeg"
        return await self._media(request, b"o" * asset.original_size, kind)

    async def _playback(self, request: web.Request) -> web.StreamResponse:
        asset = self._lookup(request)
        if asset is None or asset.type != "VIDEO":
            return web.json_response(
                {"message": "not found", "statusCode": 404}, status=404
            )
        return await self._media(request, b"v" * asset.original_size, "video/mp4")

    async def _links(self, request: web.Request) -> web.Response:
        return web.json_response(
            [
                {
                    "id": link.id,
                    "key": link.key,
                    "type": "ALBUM",
                    "album": self._album_json(
                        self.albums[link.album_id], with_assets=False
                    ),
                    "assets": [],
                    "createdAt": iso(EPOCH),
                    "expiresAt": iso(link.expires_at) if link.expires_at else None,
                    "slug": link.slug,
                    "allowUpload": False,
                    "allowDownload": True,
                    "showMetadata": True,
                    "description": None,
                    "password": None,
                    "userId": ME_ID,
                }
                for link in self.shared_links.values()
            ]
        )
