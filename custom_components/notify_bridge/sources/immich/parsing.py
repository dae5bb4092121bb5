"""Parsing of Immich answers: raw JSON in, frozen dataclasses (`models.py`) out.

Why a module of its own: every response shape check lives here, so nothing downstream
handles raw JSON and a malformed answer fails in one place with
`ImmichResponseError`; pure functions, testable without a server. v2 and v3 answer
differently in places (the album owner), which is settled here too.

The names keep their leading underscore: they are the client's internals (only
`client.py` imports them, and re-exports them under their historic names).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any
import uuid

from .models import (
    AlbumSummary,
    AlbumUser,
    AssetDetails,
    AssetType,
    DatedAsset,
    ImmichResponseError,
    ImmichUser,
    LeanAsset,
    ServerVersion,
    SharedLink,
)


def _mapping(value: Any) -> Mapping[str, Any]:
    """Return a JSON object as is; anything else is a malformed answer."""
    if not isinstance(value, Mapping):
        raise ImmichResponseError(f"expected a JSON object, got {type(value).__name__}")
    return value


def _str(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise ImmichResponseError(f"field {key!r} missing or not a string")
    return value


def _opt_str(data: Mapping[str, Any] | None, key: str) -> str | None:
    if data is None:
        return None
    value = data.get(key)
    return value if isinstance(value, str) and value else None


def _uuid(data: Mapping[str, Any], key: str) -> str:
    """Return a UUID field; the watcher packs asset ids into 16 bytes."""
    value = _str(data, key)
    try:
        uuid.UUID(value)
    except ValueError as err:
        raise ImmichResponseError(f"field {key!r} is not a UUID") from err
    return value


def _int(data: Mapping[str, Any], key: str) -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ImmichResponseError(f"field {key!r} missing or not an integer")
    return value


def _parse_version(value: Any) -> ServerVersion:
    """Return the version `GET /api/server/version` answers."""
    data = _mapping(value)
    return ServerVersion(
        major=_int(data, "major"),
        minor=_int(data, "minor"),
        patch=_int(data, "patch"),
    )


def _parse_user(value: Any) -> ImmichUser:
    """Return a user (`/api/users/me`, an album owner or member)."""
    data = _mapping(value)
    return ImmichUser(
        id=_str(data, "id"),
        name=str(data.get("name") or ""),
        email=str(data.get("email") or ""),
    )


def _parse_album_users(value: Any) -> tuple[AlbumUser, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(
        AlbumUser(
            user=_parse_user(_mapping(item).get("user")),
            role=str(_mapping(item).get("role") or ""),
        )
        for item in value
    )


def _parse_album(value: Any) -> AlbumSummary:
    """Return an album of `GET /api/albums` or `GET /api/albums/{id}` (v2 or v3)."""
    data = _mapping(value)
    users = _parse_album_users(data.get("albumUsers"))
    owner_data = data.get("owner")
    # v3 may drop `owner` in favour of roles in `albumUsers`.
    owner = (
        _parse_user(owner_data)
        if isinstance(owner_data, Mapping)
        else next((m.user for m in users if m.role == "owner"), None)
    )
    # v3 also lists the owner in `albumUsers` (role owner): the owner is not someone
    # the album is shared with, so members are the others only (as on v2).
    owner_id = owner.id if owner is not None else None
    users = tuple(m for m in users if m.role != "owner" and m.user.id != owner_id)
    return AlbumSummary(
        id=_str(data, "id"),
        name=_str(data, "albumName"),
        description=str(data.get("description") or ""),
        asset_count=_int(data, "assetCount"),
        updated_at=_str(data, "updatedAt"),
        last_modified_asset_timestamp=_opt_str(data, "lastModifiedAssetTimestamp"),
        shared=bool(data.get("shared")),
        has_shared_link=bool(data.get("hasSharedLink")),
        owner=owner,
        users=users,
    )


def _parse_lean(value: Any) -> LeanAsset:
    """Return an asset as a listing needs it: id, change time, readiness."""
    data = _mapping(value)
    return LeanAsset(
        id=_uuid(data, "id"),
        updated_at=_str(data, "updatedAt"),
        ready=bool(data.get("thumbhash")),
    )


def _parse_dated(value: Any) -> DatedAsset:
    """Return an asset with the day it was taken (for memories)."""
    data = _mapping(value)
    # `localDateTime` is the wall clock where the photo was taken (written with a Z,
    # though it is not UTC); `fileCreatedAt` is a UTC instant, a fallback only.
    stamp = _opt_str(data, "localDateTime") or _opt_str(data, "fileCreatedAt")
    try:
        taken_on = date.fromisoformat(stamp[:10]) if stamp else None
    except ValueError:
        taken_on = None
    return DatedAsset(
        id=_uuid(data, "id"),
        type=_parse_type(data.get("type")),
        taken_on=taken_on,
        ready=bool(data.get("thumbhash")),
    )


def _parse_type(value: Any) -> AssetType:
    try:
        return AssetType(value)
    except ValueError:
        return AssetType.OTHER


def _parse_people(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    names = (_opt_str(item, "name") for item in value if isinstance(item, Mapping))
    return tuple(name for name in names if name)


def _parse_rating(exif: Mapping[str, Any] | None) -> int | None:
    value = exif.get("rating") if exif else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _parse_details(value: Any) -> AssetDetails:
    """Return an asset with its EXIF, people and owner (for notifications)."""
    data = _mapping(value)
    exif_value = data.get("exifInfo")
    exif = exif_value if isinstance(exif_value, Mapping) else None
    owner = data.get("owner")
    return AssetDetails(
        id=_uuid(data, "id"),
        type=_parse_type(data.get("type")),
        file_name=str(data.get("originalFileName") or ""),
        taken_at=_opt_str(exif, "dateTimeOriginal")
        or _opt_str(data, "localDateTime")
        or _opt_str(data, "fileCreatedAt"),
        owner_id=str(data.get("ownerId") or ""),
        owner_name=_opt_str(owner if isinstance(owner, Mapping) else None, "name"),
        description=_opt_str(exif, "description"),
        people=_parse_people(data.get("people")),
        city=_opt_str(exif, "city"),
        country=_opt_str(exif, "country"),
        favorite=bool(data.get("isFavorite")),
        rating=_parse_rating(exif),
        updated_at=_str(data, "updatedAt"),
        ready=bool(data.get("thumbhash")),
    )


def _parse_shared_link(value: Any) -> SharedLink:
    """Return one entry of `GET /api/shared-links`."""
    data = _mapping(value)
    album = data.get("album")
    return SharedLink(
        id=_str(data, "id"),
        key=_str(data, "key"),
        album_id=_opt_str(album if isinstance(album, Mapping) else None, "id"),
        expires_at=_opt_str(data, "expiresAt"),
        slug=_opt_str(data, "slug"),
    )
