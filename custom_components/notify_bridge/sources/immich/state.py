"""The Immich watcher's persisted state: compact seen-sets (16 bytes per asset),
album fingerprints, sharing and assets still processing. No Home Assistant import."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .client import (
    AlbumSummary,
)

UUID_BYTES = 16
STATE_VERSION = 1


# --- compact ids ----------------------------------------------------------------------


def pack_id(asset_id: str) -> bytes:
    """Return the 16 raw bytes of a UUID string."""
    raw = bytes.fromhex(asset_id.replace("-", ""))
    if len(raw) != UUID_BYTES:
        raise ValueError(f"not a UUID: {asset_id!r}")
    return raw


def unpack_id(raw: bytes) -> str:
    """Return the canonical UUID string of 16 raw bytes."""
    text = raw.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def pack_ids(keys: Iterable[bytes]) -> bytes:
    """Concatenate packed ids in sorted order (canonical, so equal sets compare equal)."""
    return concat_ids(sorted(keys))


def concat_ids(keys: Iterable[bytes]) -> bytes:
    """Concatenate packed ids.

    Not `b"".join`: for many parts it allocates an 80-byte buffer descriptor per part
    (8 MB for 100,000 ids), five times the size of the result.
    """
    buffer = bytearray()
    for key in keys:
        buffer += key
    return bytes(buffer)


def diff_sorted(blob: bytes, keys: list[bytes]) -> tuple[list[bytes], list[bytes]]:
    """Return (added, removed) between a sorted id blob and sorted keys.

    One merge pass, so diffing a huge album needs no set of its old members.
    """
    added: list[bytes] = []
    removed: list[bytes] = []
    position, end = 0, len(blob)
    for key in keys:
        while position < end and blob[position : position + UUID_BYTES] < key:
            removed.append(blob[position : position + UUID_BYTES])
            position += UUID_BYTES
        if position < end and blob[position : position + UUID_BYTES] == key:
            position += UUID_BYTES
        else:
            added.append(key)
    removed.extend(blob[i : i + UUID_BYTES] for i in range(position, end, UUID_BYTES))
    return added, removed


def iter_ids(blob: bytes) -> Iterator[bytes]:
    """Yield the packed ids of a blob one at a time (in their sorted order)."""
    for start in range(0, len(blob), UUID_BYTES):
        yield blob[start : start + UUID_BYTES]


# --- state ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What `GET /api/albums` says about an album's content; moves when it changes."""

    updated_at: str
    asset_count: int
    last_modified: str | None

    @classmethod
    def of(cls, album: AlbumSummary) -> Fingerprint:
        """Return the fingerprint of an album list entry."""
        return cls(
            album.updated_at, album.asset_count, album.last_modified_asset_timestamp
        )


@dataclass(frozen=True, slots=True)
class Sharing:
    """Who an album is shared with; compared on every poll, costs no request."""

    shared: bool
    has_shared_link: bool
    # Sorted "user id:role" pairs, so a role change counts as a sharing change.
    members: tuple[str, ...]

    @classmethod
    def of(cls, album: AlbumSummary) -> Sharing:
        """Return the sharing state of an album list entry."""
        members = tuple(sorted(f"{m.user.id}:{m.role}" for m in album.users))
        return cls(album.shared, album.has_shared_link, members)


@dataclass(frozen=True, slots=True)
class PendingAsset:
    """An album member seen while Immich was still processing it."""

    asset_id: str
    first_seen: float
    updated_at: str


@dataclass(frozen=True, slots=True)
class AlbumState:
    """What the watcher knows about one album."""

    album_id: str
    name: str
    fingerprint: Fingerprint
    sharing: Sharing
    # Sorted 16-byte ids of every member seen (reported or pending), concatenated.
    ids: bytes = field(repr=False)
    pending: tuple[PendingAsset, ...] = ()

    @property
    def known_assets(self) -> int:
        """Return how many members the seen-set holds."""
        return len(self.ids) // UUID_BYTES


@dataclass(frozen=True, slots=True)
class WatcherState:
    """Everything a watcher must remember across restarts."""

    albums: Mapping[str, AlbumState] = field(default_factory=dict)
    last_reconcile: float = 0.0

    def __post_init__(self) -> None:
        """Make the album map read-only, so a shared state cannot be patched."""
        object.__setattr__(self, "albums", MappingProxyType(dict(self.albums)))

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-friendly form the HA glue stores with `Store`."""
        return {
            "version": STATE_VERSION,
            "last_reconcile": self.last_reconcile,
            "albums": {
                album_id: _album_to_dict(album)
                for album_id, album in self.albums.items()
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WatcherState:
        """Rebuild a state from `to_dict` output; raise ValueError when malformed."""
        try:
            if data["version"] != STATE_VERSION:
                raise ValueError(f"unknown state version {data['version']!r}")
            albums = {
                str(album_id): _album_from_dict(str(album_id), raw)
                for album_id, raw in data["albums"].items()
            }
            return cls(albums=albums, last_reconcile=float(data["last_reconcile"]))
        except (KeyError, TypeError, AttributeError, IndexError) as err:
            raise ValueError(f"malformed Immich watcher state: {err!r}") from err


def _album_to_dict(album: AlbumState) -> dict[str, Any]:
    fingerprint = album.fingerprint
    return {
        "name": album.name,
        "fp": [
            fingerprint.updated_at,
            fingerprint.asset_count,
            fingerprint.last_modified,
        ],
        "sharing": [
            album.sharing.shared,
            album.sharing.has_shared_link,
            list(album.sharing.members),
        ],
        # base64 of the packed ids: ~21.3 bytes per asset on disk.
        "ids": base64.b64encode(album.ids).decode("ascii"),
        "pending": [[p.asset_id, p.first_seen, p.updated_at] for p in album.pending],
    }


def _album_from_dict(album_id: str, raw: Mapping[str, Any]) -> AlbumState:
    updated_at, asset_count, last_modified = raw["fp"]
    shared, has_link, members = raw["sharing"]
    ids = base64.b64decode(raw["ids"], validate=True)
    if len(ids) % UUID_BYTES:
        raise ValueError(f"seen-set of album {album_id} is not a multiple of 16 bytes")
    return AlbumState(
        album_id=album_id,
        name=str(raw["name"]),
        fingerprint=Fingerprint(str(updated_at), int(asset_count), last_modified),
        sharing=Sharing(bool(shared), bool(has_link), tuple(str(m) for m in members)),
        ids=ids,
        pending=tuple(
            PendingAsset(str(asset_id), float(first_seen), str(updated_at))
            for asset_id, first_seen, updated_at in raw["pending"]
        ),
    )
