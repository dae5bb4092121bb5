"""Immich album watching: our watcher versus the naive poll, against the fake server.

The naive approach (what the popular HACS integration does) fetches every watched
album with its full asset list on every tick. Ours asks for the album list once and
lists only albums whose fingerprint moved. Printed for Immich v3 and v2, in one run:

- requests and bytes of an idle poll (10 albums x 2,000 assets), and of the same idle
  poll with 10x fewer assets (our bytes must not depend on the asset count);
- requests and bytes of the poll after 5 assets were added to one album;
- memory (tracemalloc) and serialized store size of the seen-set for 100,000 assets.

Runs offline: `.venv/bin/python benchmarks/immich_poll.py`. The last line printed is
one JSON object with every figure.
"""

from __future__ import annotations

import asyncio
import gc
import json
from pathlib import Path
import random
import sys
import time
import tracemalloc
from typing import Any
import uuid

# Run from anywhere: the fake server lives in tests/fakes.
# Import from the repository, never from this folder (telegram.py here would shadow
# the python-telegram-bot package).
sys.path[0] = str(Path(__file__).resolve().parent.parent)

import aiohttp

from custom_components.notify_bridge.sources.immich.client import (
    AlbumSummary,
    AssetDetails,
    AssetType,
    ImmichClient,
    LeanAsset,
)
from custom_components.notify_bridge.sources.immich.diff import AlbumWatcher
from custom_components.notify_bridge.sources.immich.state import WatcherState
from tests.fakes.immich_server import FakeImmichServer

ALBUMS = 10
ASSETS_PER_ALBUM = 2_000
ADDED = 5
SEEN_SET_ASSETS = 100_000
SEEN_SET_ALBUMS = 50


async def naive_poll(client: ImmichClient, album_ids: list[str]) -> int:
    """Fetch every album with its full asset list; return how many assets it saw."""
    await client.async_get_albums()
    total = 0
    for album_id in album_ids:
        total += len(await client.async_list_album_assets(album_id))
    return total


def measure(server: FakeImmichServer) -> dict[str, int]:
    """Return and reset the server's counters."""
    figures = {"requests": server.requests, "bytes": server.bytes_sent}
    server.reset_counters()
    return figures


async def idle_bytes(version: int, assets_per_album: int) -> dict[str, int]:
    """Return our idle-poll figures for a library of the given album size."""
    server = FakeImmichServer(version=version)
    await server.start()
    try:
        for index in range(ALBUMS):
            server.create_album(f"Album {index:02d}", assets_per_album)
        async with aiohttp.ClientSession() as session:
            watcher = AlbumWatcher(ImmichClient(session, server.url, server.api_key))
            await watcher.async_poll()
            server.reset_counters()
            await watcher.async_poll()
            return measure(server)
    finally:
        await server.close()


async def compare(version: int) -> dict[str, Any]:
    """Run the idle and add-5 scenarios for ours and the naive poll."""
    server = FakeImmichServer(version=version)
    await server.start()
    try:
        album_ids = [
            server.create_album(f"Album {index:02d}", ASSETS_PER_ALBUM)
            for index in range(ALBUMS)
        ]
        async with aiohttp.ClientSession() as session:
            client = ImmichClient(session, server.url, server.api_key)
            watcher = AlbumWatcher(client)
            await client.async_get_version()
            await watcher.async_poll()  # silent first look
            server.reset_counters()

            started = time.perf_counter()
            await watcher.async_poll()
            ours_idle = measure(server) | {"ms": _ms(started)}
            started = time.perf_counter()
            naive_seen = await naive_poll(client, album_ids)
            naive_idle = measure(server) | {"ms": _ms(started)}

            server.add_assets(album_ids[3], ADDED)
            started = time.perf_counter()
            result = await watcher.async_poll()
            reported = sum(len(event.assets) for event in result.events)
            ours_add = measure(server) | {"ms": _ms(started), "reported": reported}
            started = time.perf_counter()
            await naive_poll(client, album_ids)
            naive_add = measure(server) | {"ms": _ms(started)}
    finally:
        await server.close()
    small = await idle_bytes(version, ASSETS_PER_ALBUM // 10)
    return {
        "idle": {
            "ours": ours_idle,
            "naive": naive_idle | {"assets_listed": naive_seen},
            "bytes_ratio": round(naive_idle["bytes"] / max(ours_idle["bytes"], 1), 1),
            "ours_bytes_with_10x_fewer_assets": small["bytes"],
        },
        "add_5": {"ours": ours_add, "naive": naive_add},
    }


async def seen_set(total: int) -> dict[str, Any]:
    """Watch `total` assets for real, then measure the state's memory and store size."""
    server = FakeImmichServer(version=3)
    await server.start()
    try:
        for index in range(SEEN_SET_ALBUMS):
            server.create_album(f"Big {index:02d}", total // SEEN_SET_ALBUMS)
        async with aiohttp.ClientSession() as session:
            watcher = AlbumWatcher(ImmichClient(session, server.url, server.api_key))
            await watcher.async_poll()
    finally:
        await server.close()
    known = sum(album.known_assets for album in watcher.state.albums.values())
    stored = json.dumps(watcher.state.to_dict())
    raw = json.loads(stored)
    del watcher
    # What a running watcher keeps: the state, rebuilt here from the store under
    # tracemalloc (the input is allocated before tracing starts, so only the state
    # itself and transient work are counted).
    gc.collect()
    tracemalloc.start()
    state = WatcherState.from_dict(raw)
    gc.collect()
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert sum(album.known_assets for album in state.albums.values()) == known
    return {
        "assets": known,
        "albums": SEEN_SET_ALBUMS,
        "memory_bytes": current,
        "memory_peak_bytes": peak,
        "store_bytes": len(stored.encode()),
        "store_bytes_per_asset": round(len(stored.encode()) / known, 2),
    }


class _StubClient:
    """Serves one huge album from memory, so tracemalloc sees only the watcher."""

    base_url = "http://stub"

    def __init__(self, listing: tuple[LeanAsset, ...]) -> None:
        self.listing = listing
        self.album = _summary(len(listing), "2025-01-01T00:00:00.000Z")

    async def async_get_albums(self) -> tuple[AlbumSummary, ...]:
        return (self.album,)

    async def async_list_album_assets(self, album_id: str) -> tuple[LeanAsset, ...]:
        return self.listing

    async def async_get_asset_details(
        self, album_id: str, wanted: dict[str, str]
    ) -> dict[str, AssetDetails]:
        return {
            asset_id: AssetDetails(
                asset_id,
                AssetType.IMAGE,
                "new.jpg",
                None,
                "",
                None,
                None,
                (),
                None,
                None,
                False,
                None,
                updated_at,
                True,
            )
            for asset_id, updated_at in wanted.items()
        }

    async def async_get_assets(self, asset_ids: list[str]) -> dict[str, AssetDetails]:
        return {}


def _summary(count: int, updated_at: str) -> AlbumSummary:
    return AlbumSummary(
        "00000000-0000-4000-8000-00000000a1b0",
        "Huge",
        "",
        count,
        updated_at,
        updated_at,
        False,
        False,
        None,
        (),
    )


async def relist_peak(total: int) -> dict[str, int]:
    """Peak memory of the diff when a `total`-asset album changes (listing excluded)."""
    rng = random.Random(5)

    def lean(count: int) -> tuple[LeanAsset, ...]:
        return tuple(
            LeanAsset(str(uuid.UUID(int=rng.getrandbits(128), version=4)), "t", True)
            for _ in range(count)
        )

    gc.collect()
    tracemalloc.start()
    listing = lean(total)
    listing_bytes = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    stub = _StubClient(listing)
    watcher = AlbumWatcher(stub)  # type: ignore[arg-type]
    await watcher.async_poll()
    stub.listing = listing + lean(ADDED)
    stub.album = _summary(total + ADDED, "2025-01-02T00:00:00.000Z")
    gc.collect()
    tracemalloc.start()
    result = await watcher.async_poll()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert sum(len(event.assets) for event in result.events) == ADDED
    return {"relist_peak_bytes": peak, "lean_listing_bytes": listing_bytes}


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def report(version: int, figures: dict[str, Any]) -> None:
    """Print one version's figures for humans."""
    idle, add = figures["idle"], figures["add_5"]
    print(f"Immich v{version}, {ALBUMS} albums x {ASSETS_PER_ALBUM} assets")
    print(
        f"  idle poll   ours  {idle['ours']['requests']:>3} req {idle['ours']['bytes']:>10,} B"
        f"   naive {idle['naive']['requests']:>3} req {idle['naive']['bytes']:>10,} B"
        f"   ratio {idle['bytes_ratio']}x"
    )
    print(
        f"  idle poll with 10x fewer assets: ours "
        f"{idle['ours_bytes_with_10x_fewer_assets']:,} B"
    )
    print(
        f"  +{ADDED} assets  ours  {add['ours']['requests']:>3} req {add['ours']['bytes']:>10,} B"
        f"   naive {add['naive']['requests']:>3} req {add['naive']['bytes']:>10,} B"
        f"   (reported {add['ours']['reported']})"
    )


async def main() -> dict[str, Any]:
    """Run every scenario and return the figures."""
    v3 = await compare(3)
    report(3, v3)
    v2 = await compare(2)
    report(2, v2)
    seen = await seen_set(SEEN_SET_ASSETS)
    seen |= await relist_peak(SEEN_SET_ASSETS)
    print(
        f"Seen-set for {seen['assets']:,} assets: {seen['memory_bytes'] / 1e6:.2f} MB in"
        f" memory (peak {seen['memory_peak_bytes'] / 1e6:.2f} MB), store"
        f" {seen['store_bytes'] / 1e6:.2f} MB = {seen['store_bytes_per_asset']} B/asset"
    )
    print(
        f"One {SEEN_SET_ASSETS:,}-asset album changing: diff peak"
        f" {seen['relist_peak_bytes'] / 1e6:.2f} MB on top of its lean listing"
        f" ({seen['lean_listing_bytes'] / 1e6:.2f} MB, transient)"
    )
    targets = {
        "idle_one_request": all(v["idle"]["ours"]["requests"] == 1 for v in (v2, v3)),
        "idle_bytes_independent_of_assets": all(
            abs(
                v["idle"]["ours"]["bytes"]
                - v["idle"]["ours_bytes_with_10x_fewer_assets"]
            )
            <= ALBUMS * 4
            for v in (v2, v3)
        ),
        "idle_bytes_100x_fewer": all(v["idle"]["bytes_ratio"] >= 100 for v in (v2, v3)),
        "add_5_reported_exactly": all(
            v["add_5"]["ours"]["reported"] == ADDED for v in (v2, v3)
        ),
        "memory_under_16mb": seen["memory_peak_bytes"] <= 16 * 1024 * 1024,
        "store_under_48_bytes_per_asset": seen["store_bytes_per_asset"] <= 48,
    }
    return {
        "albums": ALBUMS,
        "assets_per_album": ASSETS_PER_ALBUM,
        "v3": v3,
        "v2": v2,
        "seen_set": seen,
        "targets_met": targets,
    }


if __name__ == "__main__":
    started = time.perf_counter()
    figures = asyncio.run(main())
    figures["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(figures, separators=(",", ":")))
