"""What the Immich client answers with: its errors and frozen answer types.

Why a module of its own: the watcher, the diff, the media and memory code and the Home
Assistant glue all consume these types and errors without talking HTTP; keeping them
apart from the client (`client.py`) and the JSON parsing (`parsing.py`) lets each be
read alone. `client.py` re-exports every name, which stays their public home.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Protocol


class ImmichError(Exception):
    """Any failure talking to an Immich server."""


class ImmichAuthError(ImmichError):
    """The API key was refused (401) or lacks a permission (403)."""


class ImmichConnectionError(ImmichError):
    """The server could not be reached, timed out or answered with a server error."""


class ImmichResponseError(ImmichError):
    """The server answered with something that is not the documented shape."""


class ImmichNotFoundError(ImmichError):
    """The album or asset does not exist (any more) or is not visible to this key."""


class ImmichBadRequestError(ImmichResponseError):
    """The server refused the request as invalid (400).

    Immich also answers 400 ("Not found or no access") for an album id the key
    cannot read, so callers asking about one album treat it like "not found".
    """


class ImmichMediaTooLargeError(ImmichError):
    """A media download exceeded the caller's byte bound."""


class AssetType(StrEnum):
    """Immich asset types."""

    IMAGE = "IMAGE"
    VIDEO = "VIDEO"
    AUDIO = "AUDIO"
    OTHER = "OTHER"


class MediaVariant(StrEnum):
    """Which rendition of an asset to download."""

    THUMBNAIL = "thumbnail"
    PREVIEW = "preview"
    ORIGINAL = "original"
    PLAYBACK = "playback"


@dataclass(frozen=True, slots=True)
class ServerVersion:
    """Version of the Immich server."""

    major: int
    minor: int
    patch: int

    @property
    def lists_assets_in_album(self) -> bool:
        """Return whether `GET /api/albums/{id}` still embeds the asset list (< v3)."""
        return self.major < 3

    def __str__(self) -> str:
        """Return the dotted form."""
        return f"{self.major}.{self.minor}.{self.patch}"


@dataclass(frozen=True, slots=True)
class ImmichUser:
    """The user an API key belongs to, or a member of an album."""

    id: str
    name: str
    email: str = ""


@dataclass(frozen=True, slots=True)
class AlbumUser:
    """A user an album is shared with and their role."""

    user: ImmichUser
    role: str


@dataclass(frozen=True, slots=True)
class AlbumSummary:
    """One entry of `GET /api/albums`: enough to fingerprint an album."""

    id: str
    name: str
    description: str
    asset_count: int
    updated_at: str
    last_modified_asset_timestamp: str | None
    shared: bool
    has_shared_link: bool
    owner: ImmichUser | None
    users: tuple[AlbumUser, ...]

    def user_names(self) -> dict[str, str]:
        """Return user id → name for the owner and every member."""
        names = {member.user.id: member.user.name for member in self.users}
        if self.owner is not None:
            names[self.owner.id] = self.owner.name
        return names


@dataclass(frozen=True, slots=True)
class LeanAsset:
    """An album member as a listing sees it: identity, change time, readiness."""

    id: str
    updated_at: str
    # Immich sets the thumbhash once the thumbnail exists; before that it is null.
    ready: bool


@dataclass(frozen=True, slots=True)
class DatedAsset:
    """An album member with the day it was taken, as memories need it."""

    id: str
    type: AssetType
    # The wall-clock day where it was taken (Immich `localDateTime`), if known.
    taken_on: date | None
    ready: bool


@dataclass(frozen=True, slots=True)
class AssetDetails:
    """What a notification says about one asset."""

    id: str
    type: AssetType
    file_name: str
    taken_at: str | None
    owner_id: str
    owner_name: str | None
    description: str | None
    people: tuple[str, ...]
    city: str | None
    country: str | None
    favorite: bool
    rating: int | None
    updated_at: str
    ready: bool


@dataclass(frozen=True, slots=True)
class SharedLink:
    """A public link to an album."""

    id: str
    key: str
    album_id: str | None
    expires_at: str | None
    slug: str | None = None


@dataclass(frozen=True, slots=True)
class MediaBlob:
    """Downloaded bytes of one asset rendition."""

    asset_id: str
    variant: MediaVariant
    data: bytes
    content_type: str | None

    @property
    def identity(self) -> str:
        """Return a stable identity, so upload caches hit on re-sends."""
        return f"immich:{self.asset_id}:{self.variant.value}"


class HasId(Protocol):
    """Anything parsed from an asset object."""

    @property
    def id(self) -> str:
        """Return the asset id."""


def pick_album_link(
    links: Iterable[SharedLink], album_id: str, now: datetime
) -> SharedLink | None:
    """Return a shared link of the album that has not expired, if any."""
    for link in links:
        if link.album_id != album_id:
            continue
        if link.expires_at is None:
            return link
        try:
            expires = datetime.fromisoformat(link.expires_at)
        except ValueError:
            continue
        if expires.tzinfo is None:
            expires = expires.replace(tzinfo=UTC)
        if expires > now:
            return link
    return None
