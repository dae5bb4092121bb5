"""The album watcher against the fake server: cheap idle polls, exact diffs, restarts."""

from __future__ import annotations

from datetime import UTC, datetime
import json
import random

import aiohttp
import pytest

from custom_components.notify_bridge.sources.immich.client import (
    ImmichAuthError,
    ImmichClient,
    ImmichConnectionError,
    ImmichResponseError,
)
from custom_components.notify_bridge.sources.immich.diff import (
    DEFAULT_PROCESSING_TIMEOUT,
    DEFAULT_RECONCILE_INTERVAL,
    AlbumWatcher,
)
from custom_components.notify_bridge.sources.immich.events import (
    PollResult,
    WatchEvent,
    WatchEventType,
    build_event_context,
    to_bridge_event,
)
from custom_components.notify_bridge.sources.immich.state import (
    WatcherState,
    concat_ids,
    diff_sorted,
    pack_id,
    pack_ids,
    unpack_id,
)
from tests.fakes.immich_server import OTHER_ID, FakeImmichServer

from .conftest import FakeClock


def events_of(result: PollResult, kind: WatchEventType) -> list[WatchEvent]:
    """Return the events of one type."""
    return [event for event in result.events if event.type is kind]


def added_ids(result: PollResult) -> set[str]:
    """Return the ids of every asset reported as added."""
    return {
        asset.id
        for event in events_of(result, WatchEventType.ASSETS_ADDED)
        for asset in event.assets
    }


async def started(
    client: ImmichClient, clock: FakeClock, **kwargs: object
) -> AlbumWatcher:
    """Return a watcher that has taken its silent first look."""
    watcher = AlbumWatcher(client, clock=clock, **kwargs)  # type: ignore[arg-type]
    first = await watcher.async_poll()
    assert first.events == ()
    return watcher


async def test_first_poll_is_silent_and_idle_poll_is_one_request(
    server: FakeImmichServer, client: ImmichClient, clock: FakeClock
) -> None:
    """Existing assets are not news; an idle poll is exactly one GET /api/albums."""
    for index in range(3):
        server.create_album(f"Album {index}", 40)
    watcher = await started(client, clock)
    assert sum(a.known_assets for a in watcher.state.albums.values()) == 120
    server.reset_counters()
    result = await watcher.async_poll()
    assert result == PollResult((), False, 0, False)
    assert server.requests == 1
    assert server.paths["/api/albums"] == 1


async def test_added_assets_reported_once(
    server: FakeImmichServer, client: ImmichClient, clock: FakeClock
) -> None:
    """New assets (also those another user added) are reported exactly once."""
    album = server.create_album("Family", 10, members={OTHER_ID: "editor"})
    quiet = server.create_album("Quiet", 10)
    watcher = await started(client, clock)
    mine = server.add_assets(album, 2, people=["Ann"])
    theirs = server.add_assets(album, 1, owner_id=OTHER_ID)
    server.reset_counters()
    result = await watcher.async_poll()
    assert result.albums_listed == 1
    assert result.state_changed
    assert added_ids(result) == {*mine, *theirs}
    (event,) = result.events
    assert event.album.id == album
    owners = {asset.id: asset.owner_name for asset in event.assets}
    assert owners[theirs[0]] == "Bob"
    assert owners[mine[0]] == "Alice"
    # The unchanged album was not listed.
    assert server.paths[f"/api/albums/{quiet}"] == 0
    again = await watcher.async_poll()
    assert again.events == ()
    assert watcher.state.albums[album].known_assets == 13


async def test_removed_renamed_shared_deleted(
    server: FakeImmichServer, client: ImmichClient, clock: FakeClock
) -> None:
    """Removals, renames, sharing changes and deletions are their own events."""
    album = server.create_album("Trip", 6)
    members = list(server.albums[album].asset_ids)
    watcher = await started(client, clock)

    server.remove_assets(album, members[:1])
    server.delete_assets(members[1:2])
    result = await watcher.async_poll()
    (removed,) = events_of(result, WatchEventType.ASSETS_REMOVED)
    assert set(removed.removed_ids) == set(members[:2])
    # The one still on the server is described; the deleted one is only an id.
    assert [a.id for a in removed.removed_assets] == members[:1]
    context = build_event_context(removed)
    by_id = {asset["id"]: asset for asset in context["assets"]}
    assert by_id[members[0]]["file_name"].startswith("IMG_")
    assert by_id[members[0]]["owner"] == "Alice"
    assert by_id[members[1]]["file_name"] is None
    assert by_id[members[0]].keys() == by_id[members[1]].keys()
    assert context["removed_count"] == 2
    assert (await watcher.async_poll()).events == ()

    server.rename_album(album, "Trip 2025")
    result = await watcher.async_poll()
    assert [e.type for e in result.events] == [WatchEventType.ALBUM_RENAMED]
    assert result.events[0].old_name == "Trip"
    assert result.events[0].album.name == "Trip 2025"

    server.share_album(album, OTHER_ID, "viewer")
    key = server.add_shared_link(album)
    result = await watcher.async_poll()
    (shared,) = events_of(result, WatchEventType.SHARING_CHANGED)
    assert (
        shared.sharing_before is not None and not shared.sharing_before.has_shared_link
    )
    assert shared.sharing_after is not None and shared.sharing_after.has_shared_link
    assert shared.album.shared_link_url == f"{server.url}/share/{key}"
    assert (await watcher.async_poll()).events == ()

    server.unshare_album(album, OTHER_ID)
    result = await watcher.async_poll()
    assert [e.type for e in result.events] == [WatchEventType.SHARING_CHANGED]

    server.delete_album(album)
    result = await watcher.async_poll()
    (deleted,) = result.events
    assert deleted.type is WatchEventType.ALBUM_DELETED
    assert deleted.album.name == "Trip 2025"
    assert album not in watcher.state.albums
    assert (await watcher.async_poll()).events == ()


async def test_processing_assets_are_held_until_ready(
    server: FakeImmichServer, client: ImmichClient, clock: FakeClock
) -> None:
    """An asset without a thumbnail is held, then reported once when ready."""
    album = server.create_album("A", 3)
    watcher = await started(client, clock)
    ready = server.add_assets(album, 1)
    processing = server.add_assets(album, 2, processing=True)
    result = await watcher.async_poll()
    assert added_ids(result) == set(ready)
    assert {p.asset_id for p in watcher.state.albums[album].pending} == set(processing)

    # Nothing changed: only the held assets are asked about, and still not ready.
    server.reset_counters()
    result = await watcher.async_poll()
    assert result.events == ()
    assert result.albums_listed == 0
    assert server.requests >= 2

    server.mark_ready(processing[:1])
    result = await watcher.async_poll()
    assert added_ids(result) == set(processing[:1])
    assert all(a.ready for e in result.events for a in e.assets)

    # Ready without the fingerprint moving: the held-asset check still finds it.
    server.mark_ready(processing[1:], touch=False)
    result = await watcher.async_poll()
    assert added_ids(result) == set(processing[1:])
    assert watcher.state.albums[album].pending == ()
    assert (await watcher.async_poll()).events == ()


async def test_processing_timeout_reports_without_media(
    server: FakeImmichServer, client: ImmichClient, clock: FakeClock
) -> None:
    """After the timeout a held asset is reported without media, and only once."""
    album = server.create_album("A", 1)
    watcher = await started(client, clock)
    stuck = server.add_assets(album, 1, processing=True)
    assert (await watcher.async_poll()).events == ()
    clock.advance(DEFAULT_PROCESSING_TIMEOUT + 1)
    result = await watcher.async_poll()
    (event,) = result.events
    assert [a.id for a in event.assets] == stuck
    assert not event.assets[0].ready
    assert build_event_context(event)["assets"][0]["media_ready"] is False
    server.mark_ready(stuck)
    assert (await watcher.async_poll()).events == ()


async def test_held_asset_that_leaves_is_never_reported(
    server: FakeImmichServer, client: ImmichClient, clock: FakeClock
) -> None:
    """Removed or deleted before it was ready: no added, no removed event."""
    album = server.create_album("A", 2)
    watcher = await started(client, clock)
    first, second = server.add_assets(album, 2, processing=True)
    assert (await watcher.async_poll()).events == ()
    server.remove_assets(album, [first])
    result = await watcher.async_poll()
    assert result.events == ()
    server.delete_assets([second])
    result = await watcher.async_poll()
    assert result.events == ()
    state = watcher.state.albums[album]
    assert state.pending == ()
    assert state.known_assets == 2
    assert (await watcher.async_poll()).events == ()


async def test_pending_vanishes_without_relist(
    v3_server: FakeImmichServer, v3_client: ImmichClient, clock: FakeClock
) -> None:
    """A held asset deleted while its album's fingerprint stands still is dropped."""
    album = v3_server.create_album("A", 2)
    watcher = await started(v3_client, clock)
    (gone,) = v3_server.add_assets(album, 1, processing=True)
    assert (await watcher.async_poll()).events == ()
    fingerprint = watcher.state.albums[album].fingerprint
    # Delete the asset but keep the list answer identical (count and times).
    v3_server.assets[gone].processing = False
    v3_server.assets.pop(gone)
    result = await watcher.async_poll()
    assert result.events == ()
    state = watcher.state.albums[album]
    assert state.pending == ()
    assert state.known_assets == 2
    assert state.fingerprint != fingerprint or result.albums_listed == 0


async def test_restart_reports_changes_made_while_down_once(
    server: FakeImmichServer,
    client: ImmichClient,
    session: aiohttp.ClientSession,
    clock: FakeClock,
) -> None:
    """Serialized state → new watcher: what changed meanwhile is reported once."""
    album = server.create_album("A", 200)
    other = server.create_album("B", 10)
    watcher = await started(client, clock)
    held = server.add_assets(album, 1, processing=True)
    assert (await watcher.async_poll()).events == ()
    stored = json.loads(json.dumps(watcher.state.to_dict()))
    per_asset = len(json.dumps(stored)) / 211
    assert per_asset <= 48

    # "While down": additions, a removal, a rename, a held asset finishing.
    new = server.add_assets(album, 4)
    server.remove_assets(other, server.albums[other].asset_ids[:1])
    server.rename_album(other, "B2")
    server.mark_ready(held)

    restarted = AlbumWatcher(
        ImmichClient(session, server.url, server.api_key),
        state=WatcherState.from_dict(stored),
        clock=clock,
    )
    result = await restarted.async_poll()
    assert added_ids(result) == {*new, *held}
    assert len(events_of(result, WatchEventType.ASSETS_REMOVED)) == 1
    assert len(events_of(result, WatchEventType.ALBUM_RENAMED)) == 1
    assert (await restarted.async_poll()).events == ()


@pytest.mark.parametrize(
    ("arrange", "error"),
    [
        (lambda s: s.fail(401, path="/api/search"), ImmichAuthError),
        (lambda s: s.fail(500, path="/api/search"), ImmichConnectionError),
        (lambda s: s.garbage(path="/api/search"), ImmichResponseError),
        (lambda s: s.fail(500, path="/api/albums"), ImmichConnectionError),
        (
            lambda s: s.wrong_shape(
                path="/api/search",
                body={"assets": {"items": [{"id": "x", "updatedAt": "t"}]}},
            ),
            ImmichResponseError,
        ),
    ],
)
async def test_failure_leaves_state_untouched(
    v3_server: FakeImmichServer,
    v3_client: ImmichClient,
    clock: FakeClock,
    arrange,
    error,
) -> None:
    """A failing poll raises, keeps the state, and the next poll reports once."""
    album = v3_server.create_album("A", 5)
    watcher = await started(v3_client, clock)
    new = v3_server.add_assets(album, 2)
    before = watcher.state
    arrange(v3_server)
    with pytest.raises(error):
        await watcher.async_poll()
    assert watcher.state is before
    assert added_ids(await watcher.async_poll()) == set(new)
    assert (await watcher.async_poll()).events == ()


async def test_v2_failure_in_album_detail(
    client: ImmichClient, server: FakeImmichServer, clock: FakeClock
) -> None:
    """The same holds for whichever request lists the album on each version."""
    album = server.create_album("A", 5)
    watcher = await started(client, clock)
    new = server.add_assets(album, 1)
    listing = f"/api/albums/{album}" if server.version == 2 else "/api/search"
    server.fail(500, path=listing)
    with pytest.raises(ImmichConnectionError):
        await watcher.async_poll()
    assert added_ids(await watcher.async_poll()) == set(new)


async def test_album_of_5000_assets(
    server: FakeImmichServer, client: ImmichClient, clock: FakeClock
) -> None:
    """A large album diffs exactly, in a handful of requests."""
    album = server.create_album("Big", 5000)
    watcher = await started(client, clock)
    assert watcher.state.albums[album].known_assets == 5000
    members = list(server.albums[album].asset_ids)
    new = server.add_assets(album, 5)
    server.remove_assets(album, members[:3])
    server.reset_counters()
    result = await watcher.async_poll()
    assert added_ids(result) == set(new)
    (removed,) = events_of(result, WatchEventType.ASSETS_REMOVED)
    assert set(removed.removed_ids) == set(members[:3])
    assert [a.id for a in removed.removed_assets] == sorted(members[:3])
    # list + listing (1 album detail on v2, 6 search pages on v3) + 1 batched detail
    # query for the new assets + 1 lookup per removed asset (capped).
    assert server.requests <= 8 + 3
    assert watcher.state.albums[album].known_assets == 5002


async def test_reconcile_catches_what_the_fingerprint_missed(
    v3_server: FakeImmichServer, v3_client: ImmichClient, clock: FakeClock
) -> None:
    """A swap that leaves the fingerprint unchanged is found by the slow reconcile."""
    album = v3_server.create_album("A", 5)
    spare = v3_server.create_album("Spare", 1)
    watcher = await started(v3_client, clock, album_ids=[album])
    assert spare not in watcher.state.albums
    (outsider,) = v3_server.albums[spare].asset_ids
    replaced = v3_server.albums[album].asset_ids[0]
    v3_server.assets[outsider].updated_at = v3_server.assets[replaced].updated_at
    # Swap a member for an older asset without touching the album's timestamps.
    v3_server.albums[album].asset_ids[0] = outsider
    result = await watcher.async_poll()
    assert result.events == ()
    clock.advance(DEFAULT_RECONCILE_INTERVAL)
    result = await watcher.async_poll()
    assert result.reconciled
    assert result.albums_listed == 1
    assert added_ids(result) == {outsider}
    assert len(events_of(result, WatchEventType.ASSETS_REMOVED)) == 1


async def test_album_missing_from_list_but_readable_is_kept(
    v3_server: FakeImmichServer, v3_client: ImmichClient, clock: FakeClock
) -> None:
    """An album that drops out of the list is only "deleted" once it is gone."""
    album = v3_server.create_album("A", 3)
    watcher = await started(v3_client, clock)
    v3_server.hidden_from_list.add(album)
    result = await watcher.async_poll()
    assert result.events == ()
    assert album in watcher.state.albums
    v3_server.delete_album(album)
    result = await watcher.async_poll()
    assert [e.type for e in result.events] == [WatchEventType.ALBUM_DELETED]


async def test_new_album_is_baselined(
    v3_server: FakeImmichServer, v3_client: ImmichClient, clock: FakeClock
) -> None:
    """An album that appears later is remembered silently, then watched."""
    watcher = await started(v3_client, clock)
    album = v3_server.create_album("Later", 4)
    result = await watcher.async_poll()
    assert result.events == ()
    assert result.state_changed
    new = v3_server.add_assets(album, 1)
    assert added_ids(await watcher.async_poll()) == set(new)


async def test_context_has_the_same_shape_on_v2_and_v3(
    socket_enabled: None, session: aiohttp.ClientSession, clock: FakeClock
) -> None:
    """The same story on v2 and v3 yields the same template context keys and values."""
    contexts: dict[int, list[dict]] = {}
    for version in (2, 3):
        fake = FakeImmichServer(version=version, seed=7)
        await fake.start()
        try:
            album = fake.create_album("Family", 2, members={OTHER_ID: "editor"})
            fake.add_shared_link(album)
            watcher = await started(
                ImmichClient(session, fake.url, fake.api_key),
                clock,
                web_url="https://photos.example",
            )
            fake.add_assets(album, 2, owner_id=OTHER_ID, people=["Ann"])
            fake.rename_album(album, "Family!")
            result = await watcher.async_poll()
            contexts[version] = [build_event_context(e) for e in result.events]
        finally:
            await fake.close()
    assert contexts[2] == contexts[3]
    renamed, added = contexts[3]
    assert renamed.keys() == added.keys()
    assert renamed["old_name"] == "Family" and renamed["new_name"] == "Family!"
    album = added["album"]
    assert album["url"].startswith("https://photos.example/albums/")
    assert album["shared_link_url"] == "https://photos.example/share/key-0"
    assert album["link"] == album["shared_link_url"]
    asset = added["assets"][0]
    assert asset["owner"] == "Bob"
    assert asset["people"] == ["Ann"]
    assert asset["city"] == "Lisbon"
    assert asset["url"].startswith("https://photos.example/photos/")
    assert added["added_count"] == 2 and added["photo_count"] == 2


async def test_bridge_event(
    v3_server: FakeImmichServer, v3_client: ImmichClient, clock: FakeClock
) -> None:
    """The glue's conversion yields a frozen BridgeEvent of kind immich."""
    album = v3_server.create_album("A", 1)
    watcher = await started(v3_client, clock)
    members = list(v3_server.albums[album].asset_ids)
    v3_server.remove_assets(album, members)
    (event,) = (await watcher.async_poll()).events
    bridge = to_bridge_event(event, "entry-1")
    assert bridge.source_kind == "immich"
    assert bridge.event_type == "assets_removed"
    assert bridge.data["removed_count"] == 1
    assert bridge.data["assets"][0]["id"] == members[0]
    with pytest.raises(TypeError):
        bridge.data["event"] = "x"  # type: ignore[index]


def test_state_round_trip_and_validation() -> None:
    """Serialized state rebuilds equal; malformed stores are refused clearly."""
    assert WatcherState.from_dict(WatcherState().to_dict()) == WatcherState()
    with pytest.raises(ValueError, match="version"):
        WatcherState.from_dict({"version": 99, "albums": {}, "last_reconcile": 0})
    with pytest.raises(ValueError, match="malformed"):
        WatcherState.from_dict({"version": 1})
    bad_ids = {
        "version": 1,
        "last_reconcile": 0,
        "albums": {
            "a": {
                "name": "A",
                "fp": ["t", 1, None],
                "sharing": [False, False, []],
                "ids": "AAAA",
                "pending": [],
            }
        },
    }
    with pytest.raises(ValueError, match="16 bytes"):
        WatcherState.from_dict(bad_ids)


def test_pack_ids() -> None:
    """UUIDs pack to 16 bytes and back."""
    asset_id = "29e821a4-c748-43e3-9ba1-621582283d15"
    assert len(pack_id(asset_id)) == 16
    assert unpack_id(pack_id(asset_id)) == asset_id
    with pytest.raises(ValueError, match="UUID"):
        pack_id("abcd")


async def test_held_asset_unreachable_without_relist(
    v3_server: FakeImmichServer, v3_client: ImmichClient, clock: FakeClock
) -> None:
    """A held asset whose details are gone is dropped, even if the album is unchanged."""
    album = v3_server.create_album("A", 2)
    watcher = await started(v3_client, clock)
    (gone,) = v3_server.add_assets(album, 1, processing=True)
    assert (await watcher.async_poll()).events == ()
    v3_server.unreachable.add(gone)
    result = await watcher.async_poll()
    assert result.albums_listed == 0
    assert result.events == ()
    state = watcher.state.albums[album]
    assert state.pending == ()
    assert state.known_assets == 2


async def test_new_asset_unreachable_is_not_remembered(
    v3_server: FakeImmichServer, v3_client: ImmichClient, clock: FakeClock
) -> None:
    """Listed but gone before its details came: not reported, not marked seen."""
    album = v3_server.create_album("A", 2)
    watcher = await started(v3_client, clock)
    (ghost,) = v3_server.add_assets(album, 1)
    v3_server.unreachable.add(ghost)
    result = await watcher.async_poll()
    assert result.events == ()
    assert watcher.state.albums[album].known_assets == 2


async def test_shared_link_variants(
    v3_server: FakeImmichServer, v3_client: ImmichClient, clock: FakeClock
) -> None:
    """A slug link uses /s/; an expired link gives no URL."""
    album = v3_server.create_album("A", 1)
    other = v3_server.create_album("B", 1)
    watcher = await started(v3_client, clock)
    v3_server.add_shared_link(album, slug="summer")
    v3_server.add_shared_link(other, expires_at=datetime(2000, 1, 1, tzinfo=UTC))
    result = await watcher.async_poll()
    urls = {event.album.id: event.album.shared_link_url for event in result.events}
    assert urls == {album: f"{v3_server.url}/s/summer", other: None}
    context = build_event_context(next(e for e in result.events if e.album.id == other))
    assert context["album"]["link"] == context["album"]["url"]


async def test_unwatched_album_is_forgotten_quietly(
    v3_server: FakeImmichServer,
    v3_client: ImmichClient,
    clock: FakeClock,
) -> None:
    """A route that stops watching an album drops its state without an event."""
    keep = v3_server.create_album("Keep", 2)
    drop = v3_server.create_album("Drop", 2)
    watcher = await started(v3_client, clock)
    narrowed = AlbumWatcher(
        v3_client, album_ids={keep}, state=watcher.state, clock=clock
    )
    result = await narrowed.async_poll()
    assert result.events == ()
    assert set(narrowed.state.albums) == {keep}
    assert drop not in narrowed.state.albums
    assert v3_server.paths[f"/api/albums/{drop}"] == 0


@pytest.mark.parametrize("seed", range(5))
def test_diff_sorted_matches_set_arithmetic(seed: int) -> None:
    """The one-pass merge diff agrees with plain set differences."""
    rng = random.Random(seed)
    universe = [rng.randbytes(16) for _ in range(300)]
    old = set(rng.sample(universe, rng.randint(0, 200)))
    new = set(rng.sample(universe, rng.randint(0, 200)))
    added, removed = diff_sorted(pack_ids(old), sorted(new))
    assert set(added) == new - old
    assert set(removed) == old - new
    assert concat_ids(sorted(new)) == pack_ids(new)


async def test_v3_owner_in_album_users_is_not_a_share(
    socket_enabled: None, session: aiohttp.ClientSession, clock: FakeClock
) -> None:
    """v3 lists the owner in albumUsers (role owner): it is not someone shared with.

    A link-only album reads 0 members and one share reads 1, on v2 and v3 alike.
    """
    contexts: dict[int, list[dict]] = {}
    for version in (2, 3):
        fake = FakeImmichServer(version=version, seed=3)
        await fake.start()
        try:
            album = fake.create_album("Trip", 1)
            watcher = await started(
                ImmichClient(session, fake.url, fake.api_key),
                clock,
                web_url="https://photos.example",
            )
            fake.add_shared_link(album)
            link_only = (await watcher.async_poll()).events
            fake.share_album(album, OTHER_ID, "viewer")
            one_share = (await watcher.async_poll()).events
            contexts[version] = [
                build_event_context(e) for e in (*link_only, *one_share)
            ]
        finally:
            await fake.close()
    assert contexts[2] == contexts[3]
    link_only_ctx, one_share_ctx = contexts[3]
    assert link_only_ctx["sharing"]["members"] == 0
    assert one_share_ctx["sharing"]["members"] == 1
    assert one_share_ctx["sharing_before"]["members"] == 0
