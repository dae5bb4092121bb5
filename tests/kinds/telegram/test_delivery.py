"""The Telegram target end to end through Home Assistant, against the fake Bot API."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from functools import partial
import json
import logging
from pathlib import Path
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
from homeassistant.helpers.httpx_client import get_async_client
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from custom_components.notify_bridge import hub as hub_module
from custom_components.notify_bridge.const import DOMAIN
from custom_components.notify_bridge.diagnostics import (
    async_get_config_entry_diagnostics,
)
from custom_components.notify_bridge.kinds.telegram import setup as telegram_kind
from custom_components.notify_bridge.kinds.telegram.setup import (
    FILE_CACHE_SAVE_DELAY,
    file_cache_store_key,
)
from custom_components.notify_bridge.pipeline.policy import (
    DeliveryPolicy,
    RetryPolicy as PolicyRetry,
)
from custom_components.notify_bridge.targets.telegram import RetryPolicy
from tests.conftest import DEMO_EVENT, route
from tests.fakes.telegram_server import FakeTelegramServer, make_jpeg

from .conftest import (
    BOT_ID,
    FORUM_CHAT,
    PRIVATE_DEST_ID,
    PRIVATE_ENTITY,
    TOPIC_DEST_ID,
    TOPIC_ENTITY,
    sends,
    tg_destination,
)

VOLATILE = props("dispatch_id", "started_at", "duration_ms")
STORE_KEY = file_cache_store_key(BOT_ID)


@pytest.fixture
def routes() -> list:
    """The demo event to the forum topic."""
    return [
        route(
            "route_demo",
            "Doorbell",
            {
                "event_type": DEMO_EVENT,
                "event_data": {},
                "destinations": [TOPIC_ENTITY],
                "template": "{{ data.message }}",
                "title_template": "Doorbell",
            },
        )
    ]


@pytest.fixture
async def with_route(
    source_entry: MockConfigEntry, setup_telegram: MockConfigEntry
) -> MockConfigEntry:
    """The ha_events source (with its route) and the Telegram target, both loaded."""
    assert source_entry.state is ConfigEntryState.LOADED
    return setup_telegram


async def send(hass: HomeAssistant, **data: Any) -> dict[str, Any]:
    """Call notify_bridge.send and return its response."""
    return await hass.services.async_call(
        DOMAIN, "send", data, blocking=True, return_response=True
    )


async def test_route_to_forum_topic_silently(
    hass: HomeAssistant, server: FakeTelegramServer, with_route: MockConfigEntry
) -> None:
    """An HA event becomes an HTML message in the topic, without sound."""
    hass.bus.async_fire(DEMO_EVENT, {"message": "Someone at the <door> & waiting"})
    await hass.async_block_till_done()
    (call,) = sends(server)
    assert call.method == "sendMessage"
    assert call.params == {
        "chat_id": FORUM_CHAT,
        "message_thread_id": 5,
        "disable_notification": True,
        "parse_mode": "HTML",
        "text": "<b>Doorbell</b>\nSomeone at the &lt;door&gt; &amp; waiting",
    }
    state = hass.states.get("sensor.family_topic_last_delivery")
    assert state is not None and state.state not in ("unknown", "unavailable")


async def test_notify_send_message(
    hass: HomeAssistant, server: FakeTelegramServer, setup_telegram: MockConfigEntry
) -> None:
    """Plain notify.send_message works on a Telegram destination."""
    await hass.services.async_call(
        "notify",
        "send_message",
        {"entity_id": PRIVATE_ENTITY, "message": "Hello", "title": "Hi"},
        blocking=True,
    )
    (call,) = sends(server)
    assert call.params["chat_id"] == 42
    # notify.send_message text is plain: sent as plain, never as HTML.
    assert call.params["text"] == "Hi\nHello"
    assert "parse_mode" not in call.params
    assert "message_thread_id" not in call.params
    assert call.params.get("disable_notification") in (None, False)


async def test_send_test_button(
    hass: HomeAssistant, server: FakeTelegramServer, setup_telegram: MockConfigEntry
) -> None:
    """The generic send_test button reaches the chat too."""
    await hass.services.async_call(
        "button", "press", {"entity_id": "button.ann_send_test"}, blocking=True
    )
    (call,) = sends(server)
    assert call.params["chat_id"] == 42


@pytest.mark.usefixtures("allow_loopback_media")
async def test_send_with_media_urls(
    hass: HomeAssistant, server: FakeTelegramServer, setup_telegram: MockConfigEntry
) -> None:
    """notify_bridge.send with media URLs: an album in the topic, silently."""
    urls = [
        server.add_media("a.jpg", make_jpeg(64, 48)),
        server.add_media("b.jpg", make_jpeg(80, 60)),
    ]
    response = await send(
        hass,
        entity_id=[TOPIC_ENTITY],
        message="Two <b>new</b> photos",
        media=[{"url": url, "type": "photo"} for url in urls],
    )
    assert response["status"] == "ok"
    (result,) = response["summary"]["results"]
    assert result["media_delivered"] == 2
    (call,) = sends(server)
    assert call.method == "sendMediaGroup"
    assert call.params["message_thread_id"] == 5
    assert call.params["disable_notification"] is True
    assert [item["type"] for item in call.params["media"]] == ["photo", "photo"]


async def test_loopback_media_refused_by_default(
    hass: HomeAssistant, server: FakeTelegramServer, setup_telegram: MockConfigEntry
) -> None:
    """Without the test allowlist the outbound guard refuses 127.0.0.1."""
    url = server.add_media("a.jpg", make_jpeg())
    response = await send(
        hass, entity_id=[PRIVATE_ENTITY], message="pic", media=[{"url": url}]
    )
    (result,) = response["summary"]["results"]
    assert result["media_failed"] == 1
    assert any("is not public" in error for error in result["errors"])
    # The text still went out.
    assert [c.method for c in sends(server)] == ["sendMessage"]


@pytest.mark.parametrize(
    ("tg_options", "allowed"),
    [
        ({"allowed_media_hosts": "127.0.0.1"}, True),
        ({"allowed_media_hosts": "192.168.1.0/24, camera.lan"}, False),
        ({}, False),
    ],
)
async def test_allowed_media_hosts_option(
    hass: HomeAssistant,
    server: FakeTelegramServer,
    setup_telegram: MockConfigEntry,
    allowed: bool,
) -> None:
    """The entry's allowed media hosts open a local media server, and only those."""
    url = server.add_media("snap.jpg", make_jpeg(64, 48))
    response = await send(
        hass, entity_id=[PRIVATE_ENTITY], message="snapshot", media=[{"url": url}]
    )
    (result,) = response["summary"]["results"]
    if allowed:
        assert response["status"] == "ok"
        assert (result["media_delivered"], result["media_failed"]) == (1, 0)
        (call,) = sends(server)
        assert call.method == "sendPhoto"
        assert call.upload_bytes > 0
        return
    assert result["media_failed"] == 1
    assert any("127.0.0.1 is not public" in error for error in result["errors"])
    assert [c.method for c in sends(server)] == ["sendMessage"]


@pytest.mark.parametrize("tg_options", [{"allowed_media_hosts": "0.0.0.0/0, ::/0"}])
async def test_allowed_networks_never_open_metadata(
    hass: HomeAssistant, server: FakeTelegramServer, setup_telegram: MockConfigEntry
) -> None:
    """Even 'everything' allowed leaves the cloud metadata endpoint refused."""
    response = await send(
        hass,
        entity_id=[PRIVATE_ENTITY],
        message="creds?",
        media=[{"url": "http://169.254.169.254/latest/meta-data/"}],
    )
    (result,) = response["summary"]["results"]
    assert result["media_failed"] == 1
    assert any("metadata" in error for error in result["errors"])


async def test_title_escaped_end_to_end(
    hass: HomeAssistant, server: FakeTelegramServer, setup_telegram: MockConfigEntry
) -> None:
    """A title with markup characters arrives escaped, with no plain-text fallback."""
    response = await send(
        hass,
        entity_id=[PRIVATE_ENTITY],
        message="done",
        title='Fix <b> & "quotes"',
        parse_mode="HTML",  # mode names in any case
    )
    assert response["status"] == "ok"
    (result,) = response["summary"]["results"]
    assert result["errors"] == []
    (call,) = server.calls_to("sendMessage")
    assert call.params["parse_mode"] == "HTML"
    assert call.params["text"] == '<b>Fix &lt;b&gt; &amp; "quotes"</b>\ndone'


@pytest.mark.usefixtures("allow_loopback_media")
async def test_file_id_cache_survives_reload(
    hass: HomeAssistant,
    server: FakeTelegramServer,
    setup_telegram: MockConfigEntry,
    hass_storage: dict[str, Any],
    freezer: FrozenDateTimeFactory,
) -> None:
    """A re-send after a reload reuses the file_id: nothing is uploaded again."""
    entry = setup_telegram
    url = server.add_media("cat.jpg", make_jpeg(120, 90))
    await send(hass, entity_id=[PRIVATE_ENTITY], message="cat", media=[{"url": url}])
    assert server.uploaded_bytes > 0
    # Saved with a delay, not on every change.
    assert STORE_KEY not in hass_storage
    freezer.tick(timedelta(seconds=FILE_CACHE_SAVE_DELAY + 1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    (entry_data,) = hass_storage[STORE_KEY]["data"]["entries"].values()
    assert entry_data["kind"] == "photo"

    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    uploaded = server.uploaded_bytes
    response = await send(
        hass, entity_id=[PRIVATE_ENTITY], message="cat again", media=[{"url": url}]
    )
    assert response["status"] == "ok"
    assert server.uploaded_bytes == uploaded
    last = sends(server)[-1]
    assert last.method == "sendPhoto"
    assert last.params["photo"] == entry_data["file_id"]


@pytest.mark.usefixtures("allow_loopback_media")
async def test_cache_written_on_unload(
    hass: HomeAssistant,
    server: FakeTelegramServer,
    setup_telegram: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """Unloading writes the cache at once (a delayed save would be lost on reload)."""
    url = server.add_media("dog.jpg", make_jpeg(50, 50))
    await send(hass, entity_id=[PRIVATE_ENTITY], message="dog", media=[{"url": url}])
    bot = setup_telegram.runtime_data.bot
    assert await hass.config_entries.async_unload(setup_telegram.entry_id)
    assert len(hass_storage[STORE_KEY]["data"]["entries"]) == 1
    # Bot API calls went through Home Assistant's shared httpx client, which the
    # unloaded bot leaves open for everyone else.
    shared = get_async_client(hass)
    assert bot.bot.request._client is shared
    assert not shared.is_closed


async def test_plain_send_goes_out_as_plain(
    hass: HomeAssistant, server: FakeTelegramServer, setup_telegram: MockConfigEntry
) -> None:
    """A send without parse_mode is plain text: `5 < 6` is never sent as HTML."""
    response = await send(
        hass, entity_id=[PRIVATE_ENTITY], message="if 5 < 6 and 7 > 2", title="A&B"
    )
    assert response["status"] == "ok"
    (call,) = server.calls_to("sendMessage")
    assert len(server.messages) == 1  # accepted at once: no refused HTML
    assert call.params["text"] == "A&B\nif 5 < 6 and 7 > 2"
    assert "parse_mode" not in call.params


async def test_lower_case_html_send_with_title(
    hass: HomeAssistant, server: FakeTelegramServer, setup_telegram: MockConfigEntry
) -> None:
    """parse_mode html (lower case) with & and < in the title: escaped, ok, once."""
    response = await send(
        hass,
        entity_id=[PRIVATE_ENTITY],
        message="<i>x</i>",
        title="R&D <3",
        parse_mode="html",
    )
    assert response["status"] == "ok"
    assert [c.status for c in server.calls if c.method == "sendMessage"] == [200]
    (call,) = server.calls_to("sendMessage")
    assert call.params["text"] == "<b>R&amp;D &lt;3</b>\n<i>x</i>"


async def test_repair_issue_after_repeated_failures(
    hass: HomeAssistant, server: FakeTelegramServer, setup_telegram: MockConfigEntry
) -> None:
    """'chat not found' three times raises the repair issue; a success clears it."""
    issues = ir.async_get(hass)
    issue_id = f"destination_failing_{TOPIC_DEST_ID}"
    server.missing_chats.add(str(FORUM_CHAT))
    for index in range(3):
        response = await send(hass, entity_id=[TOPIC_ENTITY], message=f"m{index}")
        assert response["status"] == "fail"
        assert "chat not found" in response["summary"]["errors"][0].lower()
    # Permanent: one call per send, never retried.
    assert len([c for c in server.calls if c.method == "sendMessage"]) == 3
    issue = issues.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    # Its own words for the error at hand: check the chat id.
    assert issue.translation_key == "destination_failing_telegram_chat_not_found"
    assert issue.translation_placeholders["destination"] == "Family topic"
    strings = json.loads(
        (
            Path(__file__).parents[3] / "custom_components/notify_bridge/strings.json"
        ).read_text(encoding="utf-8")
    )
    words = strings["issues"][issue.translation_key]["description"]
    assert "check the chat id" in words

    # The bot's own device has an entity saying so, naming the chat.
    registry = er.async_get(hass)
    problem_id = registry.async_get_entity_id(
        "binary_sensor", DOMAIN, f"{setup_telegram.entry_id}_bot_problem"
    )
    assert problem_id is not None
    bot_device = registry.async_get(problem_id).device_id
    assert dr.async_get(hass).async_get(bot_device).identifiers == {
        (DOMAIN, setup_telegram.entry_id)
    }
    problem = hass.states.get(problem_id)
    assert problem.state == "on"
    assert problem.attributes["failing_chats"] == ["Family topic"]

    server.missing_chats.clear()
    response = await send(hass, entity_id=[TOPIC_ENTITY], message="back")
    assert response["status"] == "ok"
    assert issues.async_get_issue(DOMAIN, issue_id) is None
    assert hass.states.get(problem_id).state == "off"
    failed = hass.states.get("sensor.family_topic_failed_deliveries")
    assert failed is not None and failed.state == "3"


async def test_reauth_started_when_token_refused_while_sending(
    hass: HomeAssistant, server: FakeTelegramServer, setup_telegram: MockConfigEntry
) -> None:
    """A 401 during a send starts reauth for the entry (once)."""
    server.token = "123456:REVOKED"
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(
            "notify",
            "send_message",
            {"entity_id": PRIVATE_ENTITY, "message": "x"},
            blocking=True,
        )
    # The entity is unavailable now (test_availability); the action still tries.
    assert (await send(hass, entity_id=[PRIVATE_ENTITY], message="x"))["status"] == (
        "fail"
    )
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]
    assert flows[0]["context"]["entry_id"] == setup_telegram.entry_id


@pytest.fixture
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-line retries without sleeping: frozen time would never wake a sleep up."""

    async def instant(_seconds: float) -> None:
        await asyncio.sleep(0)

    monkeypatch.setattr(
        hub_module,
        "DeliveryPolicy",
        partial(
            DeliveryPolicy,
            retry=PolicyRetry(base_delay=0.001, max_delay=0.004, budget=1.0),
            sleep=instant,
        ),
    )
    # The bot tries each call once; the policy's retries and outbox do the rest.
    monkeypatch.setattr(telegram_kind, "SEND_RETRY", RetryPolicy(attempts=1))


async def test_outage_nothing_lost_nothing_twice(
    no_waiting: None,
    hass: HomeAssistant,
    server: FakeTelegramServer,
    with_route: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Telegram answers 502 for ten minutes: afterwards all arrive, in order, once."""
    server.fail_next("Bad Gateway", status=502, times=1_000_000)
    for index in range(5):
        hass.bus.async_fire(DEMO_EVENT, {"message": f"ring {index}"})
        await hass.async_block_till_done()
    for _ in range(20):  # ten minutes of 502, looked at every 30 s
        freezer.tick(timedelta(seconds=30))
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)
    assert sends(server) == []
    assert len(server.calls) > 5  # it kept trying
    backlog = hass.states.get("sensor.family_topic_backlog")
    assert backlog is not None and backlog.state == "5"

    server.scripted.clear()  # Telegram is back
    for _ in range(40):
        freezer.tick(timedelta(seconds=30))
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)
    texts = [call.params["text"] for call in sends(server)]
    assert texts == [f"<b>Doorbell</b>\nring {index}" for index in range(5)]
    assert all(call.params["message_thread_id"] == 5 for call in sends(server))
    assert hass.states.get("sensor.family_topic_backlog").state == "0"


@pytest.mark.parametrize("tg_options", [{"max_upload_mb": 1}])
@pytest.mark.usefixtures("allow_loopback_media")
async def test_mixed_album_summary_snapshot(
    hass: HomeAssistant,
    server: FakeTelegramServer,
    setup_telegram: MockConfigEntry,
    snapshot: SnapshotAssertion,
) -> None:
    """Photos and videos with an oversized video and a stale file_id: the response."""
    photo_a = server.add_media("a.jpg", make_jpeg(64, 48))
    await send(
        hass, entity_id=[TOPIC_ENTITY], message="warm-up", media=[{"url": photo_a}]
    )
    server.invalidate_file_ids()  # the cached id of a.jpg is now stale
    server.calls.clear()
    media = [
        {"url": photo_a, "type": "photo"},
        {"url": server.add_media("b.jpg", make_jpeg(80, 60)), "type": "photo"},
        {
            "url": server.add_media("c.mp4", b"\x00" * 4096, "video/mp4"),
            "type": "video",
        },
        {
            "url": server.add_media("big.mp4", b"\x00" * (3 * 512 * 1024), "video/mp4"),
            "type": "video",
        },
    ]
    response = await send(
        hass, entity_id=[TOPIC_ENTITY], message="<b>Holiday</b>", media=media
    )
    assert response == snapshot(exclude=VOLATILE)
    # Every send path carried the topic and the silent flag.
    for call in sends(server):
        assert call.params["message_thread_id"] == 5
        assert call.params["disable_notification"] is True
    assert [c.method for c in sends(server)] == ["sendMediaGroup", "sendMessage"]


@pytest.mark.parametrize(
    "tg_destinations",
    [
        [
            tg_destination(
                PRIVATE_DEST_ID,
                "Ann",
                42,
                quiet_start="00:00:00",
                quiet_end="23:59:59",
                quiet_mode="silent",
            )
        ]
    ],
)
async def test_quiet_hours_silent(
    hass: HomeAssistant,
    server: FakeTelegramServer,
    setup_telegram: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The destination's quiet hours reach the policy: silent mode mutes the send."""
    freezer.move_to("2025-01-06 20:00:00+00:00")  # inside the window in any zone
    await hass.services.async_call(
        "notify",
        "send_message",
        {"entity_id": PRIVATE_ENTITY, "message": "psst"},
        blocking=True,
    )
    (call,) = sends(server)
    assert call.params["disable_notification"] is True


async def test_token_never_logged(
    hass: HomeAssistant,
    server: FakeTelegramServer,
    setup_telegram: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """httpx logs request URLs; the bot token in them is masked."""
    caplog.set_level(logging.INFO)
    await hass.services.async_call(
        "notify",
        "send_message",
        {"entity_id": PRIVATE_ENTITY, "message": "hi"},
        blocking=True,
    )
    secret = server.token.split(":", 1)[1]
    httpx_records = [r for r in caplog.records if r.name == "httpx"]
    assert httpx_records
    assert all(secret not in r.getMessage() for r in httpx_records)
    assert any("/bot***/sendMessage" in r.getMessage() for r in httpx_records)


async def test_diagnostics_hide_the_token(
    hass: HomeAssistant, server: FakeTelegramServer, setup_telegram: MockConfigEntry
) -> None:
    """The bot token never appears in diagnostics."""
    diagnostics = await async_get_config_entry_diagnostics(hass, setup_telegram)
    text = json.dumps(diagnostics, default=str)
    assert server.token.split(":", 1)[1] not in text
    assert set(diagnostics["runtime"]["destinations"]) == {
        TOPIC_DEST_ID,
        PRIVATE_DEST_ID,
    }


async def test_group_upgraded_to_supergroup_updates_destination(
    hass: HomeAssistant, server: FakeTelegramServer, setup_telegram: MockConfigEntry
) -> None:
    """migrate_to_chat_id: delivered to the new chat, stored in the subentry once."""
    new_chat = -1009999
    server.migrate_chat(42, new_chat)
    response = await send(hass, entity_id=[PRIVATE_ENTITY], message="one")
    assert response["status"] == "ok"
    await hass.async_block_till_done()
    subentry = setup_telegram.subentries[PRIVATE_DEST_ID]
    assert subentry.data["chat_id"] == new_chat
    response = await send(hass, entity_id=[PRIVATE_ENTITY], message="two")
    assert response["status"] == "ok"
    chats = [
        (c.params["chat_id"], c.status)
        for c in server.calls
        if c.method == "sendMessage"
    ]
    assert chats == [(42, 400), (new_chat, 200), (new_chat, 200)]


@pytest.mark.parametrize(
    ("error", "advice"),
    [
        ("Forbidden: bot was blocked by the user", "telegram_blocked"),
        ("Bad Request: chat not found", "telegram_chat_not_found"),
        ("Bad Request: message thread not found", "telegram_topic_not_found"),
        ("Forbidden: bot was kicked from the supergroup chat", "telegram_not_member"),
        ("Bad Request: not enough rights to send text messages", "telegram_no_rights"),
        ("notify.x failed: offline", None),
    ],
)
def test_failure_advice(error: str, advice: str | None) -> None:
    """Each Telegram refusal has advice with its own translated words."""
    from custom_components.notify_bridge.targets.telegram.advice import failure_advice

    assert failure_advice(error) == advice
    if advice is not None:
        strings = json.loads(
            (
                Path(__file__).parents[3]
                / "custom_components/notify_bridge/strings.json"
            ).read_text(encoding="utf-8")
        )
        assert f"destination_failing_{advice}" in strings["issues"]
