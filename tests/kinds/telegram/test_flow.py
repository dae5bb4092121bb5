"""Config and subentry flows of the Telegram target, against the fake Bot API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import voluptuous as vol

from custom_components.notify_bridge.const import DOMAIN
from custom_components.notify_bridge.kinds.telegram.config_flow import split_chat_choice
from custom_components.notify_bridge.kinds.telegram.setup import TelegramRuntime
from custom_components.notify_bridge.net import (
    CONNECT_REASONS,
    UrlPolicy,
    connect_reason,
)
from custom_components.notify_bridge.targets.telegram import (
    OFFICIAL_LIMITS,
    SELF_HOSTED_LIMITS,
)
from custom_components.notify_bridge.targets.telegram.limits import MB
from custom_components.notify_bridge.targets.telegram.setup import (
    destination_unique_id,
    limits_from_options,
    normalize_api_base_url,
    parse_allowed_media_hosts,
    parse_chat_id,
    parse_thread_id,
    redact,
    url_policy_from_options,
)
from tests.common import start_entry_flow
from tests.fakes.telegram_server import FakeTelegramServer

from .conftest import (
    BOT_ID,
    BOT_USERNAME,
    FORUM_CHAT,
    PRIVATE_DEST_ID,
    TOPIC_DEST_ID,
)

STRINGS = json.loads(
    (
        Path(__file__).parents[3] / "custom_components/notify_bridge/strings.json"
    ).read_text(encoding="utf-8")
)


async def test_create_entry(hass: HomeAssistant, server: FakeTelegramServer) -> None:
    """getMe validates the token first; unique id = bot id, title = @username."""
    result = await start_entry_flow(hass, "telegram")
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "telegram"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {"bot_token": server.token, "api_base_url": f"{server.api_root}/bot/"},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == f"@{BOT_USERNAME}"
    assert result["data"] == {
        "kind": "telegram",
        "bot_token": server.token,
        "api_base_url": server.api_root,
        "bot_id": BOT_ID,
        "username": BOT_USERNAME,
    }
    entry = result["result"]
    assert entry.unique_id == str(BOT_ID)
    assert [c.method for c in server.calls].count("getMe") >= 2  # flow + setup
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert isinstance(entry.runtime_data, TelegramRuntime)

    # The same bot again: aborted.
    result = await start_entry_flow(hass, "telegram")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"bot_token": server.token, "api_base_url": server.api_root}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "telegram_already_configured"
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_wrong_token_then_right_one(
    hass: HomeAssistant, server: FakeTelegramServer
) -> None:
    """A refused token is a translated form error; the flow can go on."""
    result = await start_entry_flow(hass, "telegram")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {"bot_token": "999:WRONG-token", "api_base_url": server.api_root},
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "telegram_invalid_auth"}
    # What was typed stays (the token too): nobody has to type it again.
    suggested = {
        str(key): key.description["suggested_value"]
        for key in result["data_schema"].schema
        if key.description
    }
    assert suggested == {
        "bot_token": "999:WRONG-token",
        "api_base_url": server.api_root,
    }
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            "bot_token": server.token,
            "api_base_url": server.api_root,
            "max_upload_mb": 300,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"]["max_upload_mb"] == 300
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(result["result"].entry_id)


@pytest.mark.parametrize(
    ("form", "errors"),
    [
        ({"bot_token": "not a token"}, {"bot_token": "invalid_token_format"}),
        (
            {"bot_token": "1:a", "api_base_url": "ftp://x"},
            {"api_base_url": "invalid_url"},
        ),
        (
            {"bot_token": "1:a", "api_base_url": "http://"},
            {"api_base_url": "invalid_url"},
        ),
        (
            {"bot_token": "123456:TEST-TOKEN", "api_base_url": "http://127.0.0.1:9"},
            {"base": "telegram_cannot_connect"},
        ),
    ],
)
async def test_form_errors(
    hass: HomeAssistant,
    socket_enabled: None,
    form: dict[str, Any],
    errors: dict[str, str],
) -> None:
    """Malformed token, bad URL, unreachable server: translated errors."""
    result = await start_entry_flow(hass, "telegram")
    result = await hass.config_entries.flow.async_configure(result["flow_id"], form)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
    for key in errors.values():
        assert key in STRINGS["config"]["error"]


async def test_cannot_connect_says_which_server_and_why(
    hass: HomeAssistant, socket_enabled: None, server: FakeTelegramServer
) -> None:
    """ "Could not connect" names the server and the cause: refused on a closed port,
    a failed TLS handshake when https meets a plain http server."""
    error = STRINGS["config"]["error"]["telegram_cannot_connect"]
    assert "{server}" in error and "{reason}" in error
    cases = [
        ("http://127.0.0.1:9", "refused"),
        (server.api_root.replace("http://", "https://"), "tls"),
    ]
    for api_root, reason in cases:
        result = await start_entry_flow(hass, "telegram")
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"],
            {"bot_token": "123456:TEST-TOKEN", "api_base_url": api_root},
        )
        assert result["errors"] == {"base": "telegram_cannot_connect"}
        placeholders = result["description_placeholders"]
        assert placeholders["server"] == api_root.rstrip("/")
        assert placeholders["reason"] == CONNECT_REASONS[reason]


def test_connect_reason_reads_the_chain() -> None:
    """Causes, contexts and aiohttp's os_error are followed; messages are a fallback."""
    import socket
    import ssl

    def chained(outer: Exception, inner: BaseException) -> Exception:
        outer.__cause__ = inner
        return outer

    assert (
        connect_reason(chained(RuntimeError("x"), ConnectionRefusedError()))
        == "refused"
    )
    assert (
        connect_reason(chained(RuntimeError("x"), socket.gaierror(-2, "no"))) == "dns"
    )
    assert connect_reason(chained(RuntimeError("x"), ssl.SSLError("bad"))) == "tls"
    assert connect_reason(chained(RuntimeError("x"), TimeoutError())) == "timeout"
    assert connect_reason(RuntimeError("httpx.ConnectTimeout: timed out")) == "timeout"
    assert connect_reason(RuntimeError("Name or service not known")) == "dns"
    assert connect_reason(RuntimeError("something odd")) == "other"


async def test_unexpected_error(
    hass: HomeAssistant, server: FakeTelegramServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Anything unforeseen is 'unknown', logged, never a crash of the flow."""

    async def boom(bot: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(
        "custom_components.notify_bridge.kinds.telegram.config_flow.async_identify",
        boom,
    )
    result = await start_entry_flow(hass, "telegram")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"bot_token": server.token, "api_base_url": server.api_root}
    )
    assert result["errors"] == {"base": "unknown"}


async def test_reauth_when_token_refused_at_setup(
    hass: HomeAssistant, server: FakeTelegramServer, tg_entry: MockConfigEntry
) -> None:
    """A revoked token fails setup with reauth; the new token of the same bot fixes it."""
    server.token = "123456:NEW-TOKEN"
    assert not await hass.config_entries.async_setup(tg_entry.entry_id)
    await hass.async_block_till_done()
    assert tg_entry.state is ConfigEntryState.SETUP_ERROR
    (flow,) = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert flow["context"]["source"] == "reauth"
    assert flow["step_id"] == "reauth_confirm"

    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {"bot_token": "123456:STILL-OLD"}
    )
    assert result["errors"] == {"base": "telegram_invalid_auth"}
    assert result["description_placeholders"]["bot"] == f"@{BOT_USERNAME}"

    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {"bot_token": "123456:NEW-TOKEN"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert tg_entry.data["bot_token"] == "123456:NEW-TOKEN"
    assert tg_entry.state is ConfigEntryState.LOADED
    assert await hass.config_entries.async_unload(tg_entry.entry_id)


async def test_reauth_other_bot_refused(
    hass: HomeAssistant, server: FakeTelegramServer, tg_entry: MockConfigEntry
) -> None:
    """A token of another bot does not replace this bot's token."""
    result = await tg_entry.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_confirm"
    server.bot_id = 777
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"bot_token": server.token}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "telegram_wrong_bot"
    assert "telegram_wrong_bot" in STRINGS["config"]["abort"]


async def test_setup_not_ready_when_unreachable(
    hass: HomeAssistant, server: FakeTelegramServer, tg_entry: MockConfigEntry
) -> None:
    """A Bot API answering 502 at start-up: retried later, no reauth."""
    server.fail_next("Bad Gateway", status=502, method="getMe", times=5)
    await hass.config_entries.async_setup(tg_entry.entry_id)
    await hass.async_block_till_done()
    assert tg_entry.state is ConfigEntryState.SETUP_RETRY
    assert not hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    server.scripted.clear()
    await hass.config_entries.async_unload(tg_entry.entry_id)


async def test_reconfigure(
    hass: HomeAssistant, server: FakeTelegramServer, setup_telegram: MockConfigEntry
) -> None:
    """Token and Bot API server can change; the bot must stay the same."""
    entry = setup_telegram
    result = await entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {"bot_token": server.token, "api_base_url": "nope"},
    )
    assert result["errors"] == {"api_base_url": "invalid_url"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {"api_base_url": server.api_root, "max_upload_mb": 100},
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data["bot_token"] == server.token  # empty field: token kept
    await hass.async_block_till_done()
    assert entry.data["max_upload_mb"] == 100
    assert entry.state is ConfigEntryState.LOADED
    bot = entry.runtime_data.bot
    assert bot.limits.video_bytes == 100 * MB
    assert len(entry.subentries) == 2  # destinations kept

    server.bot_id = 777
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"bot_token": server.token, "api_base_url": server.api_root}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "telegram_wrong_bot"


async def test_create_entry_with_allowed_media_hosts(
    hass: HomeAssistant, server: FakeTelegramServer
) -> None:
    """A malformed entry is a translated field error; valid ones are normalized."""
    result = await start_entry_flow(hass, "telegram")
    form = {"bot_token": server.token, "api_base_url": server.api_root}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {**form, "allowed_media_hosts": "192.168.1.20, http://cam/snap.jpg"},
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"allowed_media_hosts": "invalid_media_hosts"}
    assert "invalid_media_hosts" in STRINGS["config"]["error"]
    assert not [c for c in server.calls if c.method == "getMe"]  # checked first
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            **form,
            "allowed_media_hosts": " 192.168.1.20/24,Camera.LAN., 127.0.0.1 ",
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    assert entry.data["allowed_media_hosts"] == (
        "192.168.1.0/24, camera.lan, 127.0.0.1"
    )
    await hass.async_block_till_done()
    assert entry.runtime_data.bot.url_policy.allowlist == (
        "192.168.1.0/24",
        "camera.lan",
        "127.0.0.1",
    )
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_reconfigure_allowed_media_hosts(
    hass: HomeAssistant, server: FakeTelegramServer, setup_telegram: MockConfigEntry
) -> None:
    """Reconfigure sets, validates and clears the allowed media hosts."""
    entry = setup_telegram
    assert entry.runtime_data.bot.url_policy.allowlist == ()
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {"api_base_url": server.api_root, "allowed_media_hosts": "10.0.0.0/33"},
    )
    assert result["errors"] == {"allowed_media_hosts": "invalid_media_hosts"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {"api_base_url": server.api_root, "allowed_media_hosts": "fd00::/8"},
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.data["allowed_media_hosts"] == "fd00::/8"
    assert entry.runtime_data.bot.url_policy.allowlist == ("fd00::/8",)

    # The current value is suggested; submitting the field empty clears it.
    result = await entry.start_reconfigure_flow(hass)
    schema = result["data_schema"].schema
    (key,) = [k for k in schema if k == "allowed_media_hosts"]
    assert key.description == {"suggested_value": "fd00::/8"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"api_base_url": server.api_root}
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert "allowed_media_hosts" not in entry.data
    assert entry.runtime_data.bot.url_policy.allowlist == ()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ()),
        ("", ()),
        (" , ", ()),
        ("127.0.0.1", ("127.0.0.1",)),
        ("127.0.0.1/32", ("127.0.0.1",)),
        ("[::1]", ("::1",)),
        ("192.168.1.7/24", ("192.168.1.0/24",)),
        ("a.lan\nb.lan b.lan", ("a.lan", "b.lan")),
        ("localhost, HomeAssistant.local.", ("localhost", "homeassistant.local")),
        ("169.254.169.254", ("169.254.169.254",)),
    ],
)
def test_parse_allowed_media_hosts(value: Any, expected: tuple[str, ...]) -> None:
    """Addresses, networks and names are accepted, normalized, de-duplicated."""
    assert parse_allowed_media_hosts(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "http://cam.lan",
        "cam.lan:8080",
        "10.0.0.0/33",
        "10.0.0.300",
        "1.2.3",
        "*.lan",
        "-bad.lan",
        "under_score.lan",
        "fe80::1%eth0",
        "a" * 64 + ".lan",
        ".".join(["abcdefgh"] * 30),
    ],
)
def test_parse_allowed_media_hosts_refuses(value: str) -> None:
    """URLs, ports, wildcards, bad networks and bad names are malformed."""
    with pytest.raises(ValueError, match="not a host name"):
        parse_allowed_media_hosts(value)


def test_url_policy_from_options() -> None:
    """The entry's option builds the guard; bad stored data fails closed."""
    assert url_policy_from_options({}) == UrlPolicy()
    policy = url_policy_from_options({"allowed_media_hosts": "10.0.0.0/8, nas"})
    assert policy == UrlPolicy(allowlist=("10.0.0.0/8", "nas"))
    assert url_policy_from_options({"allowed_media_hosts": "http://x"}) == UrlPolicy()


# --- destinations ---------------------------------------------------------------------

UPDATES = [
    {"update_id": 1, "message": {"message_id": 1, "date": 0,
     "chat": {"id": 42, "type": "private", "first_name": "Ann"}, "text": "hi"}},
    {"update_id": 2, "message": {"message_id": 2, "date": 0, "message_thread_id": 5,
     "chat": {"id": FORUM_CHAT, "type": "supergroup", "title": "Family",
              "is_forum": True}, "text": "x"}},
]  # fmt: skip


async def _add_destination(hass: HomeAssistant, entry: MockConfigEntry) -> Any:
    return await hass.config_entries.subentries.async_init(
        (entry.entry_id, "chat"), context={"source": SOURCE_USER}
    )


def _options(result: dict[str, Any]) -> list[dict[str, str]]:
    schema = result["data_schema"].schema
    selector = next(v for k, v in schema.items() if k == "chat_id")
    return selector.config["options"]


@pytest.mark.parametrize("tg_destinations", [[]])
async def test_destination_with_suggested_chats(
    hass: HomeAssistant, server: FakeTelegramServer, setup_telegram: MockConfigEntry
) -> None:
    """Chats the bot saw are offered; a forum topic, silent, is created."""
    entry = setup_telegram
    server.updates = UPDATES
    result = await _add_destination(hass, entry)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert _options(result) == [
        {
            "value": f"{FORUM_CHAT}/5",
            "label": f"Family (supergroup, {FORUM_CHAT}, topic 5)",
        },
        {"value": "42", "label": "Ann (private, 42)"},
    ]
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            "chat_id": str(FORUM_CHAT),
            "message_thread_id": 5.0,
            "disable_notification": True,
            "send_large_videos_as_documents": True,
            "language": "ru",
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Family #5"
    assert result["data"] == {
        "chat_id": str(FORUM_CHAT),
        "message_thread_id": 5,
        "disable_notification": True,
        "send_large_videos_as_documents": True,
        "language": "ru",
    }
    await hass.async_block_till_done()
    (subentry,) = entry.subentries.values()
    assert subentry.unique_id == f"{FORUM_CHAT}/5"
    # The entry reloaded with the new destination: its notify entity exists.
    assert hass.states.get("notify.family_5") is not None

    # Same chat and topic again: aborted.
    result = await _add_destination(hass, entry)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"chat_id": str(FORUM_CHAT), "message_thread_id": 5}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"

    # The General topic (1) is the chat itself; a named destination, quiet hours.
    result = await _add_destination(hass, entry)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            "chat_id": "@Family_Channel",
            "name": "Channel",
            "quiet_hours": {
                "quiet_start": "22:00:00",
                "quiet_end": "07:00:00",
                "quiet_mode": "silent",
            },
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Channel"
    assert result["data"]["chat_id"] == "@Family_Channel"
    assert result["data"]["quiet_mode"] == "silent"
    await hass.async_block_till_done()
    result = await _add_destination(hass, entry)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"chat_id": "@family_channel", "message_thread_id": 1}
    )
    assert result["reason"] == "already_configured"


@pytest.mark.parametrize("tg_destinations", [[]])
async def test_topic_suggestion_keeps_its_topic_and_nothing_is_preselected(
    hass: HomeAssistant, server: FakeTelegramServer, setup_telegram: MockConfigEntry
) -> None:
    """Picking "Family (supergroup, …, topic 5)" alone posts in topic 5, not in
    General; the chat field opens empty (a required dropdown would preselect its
    first suggestion), and submitting it empty says to pick a chat."""
    server.updates = UPDATES
    result = await _add_destination(hass, setup_telegram)
    chat_key = next(k for k in result["data_schema"].schema if k == "chat_id")
    assert not isinstance(chat_key, vol.Required)
    assert chat_key.default is vol.UNDEFINED
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], {})
    assert result["errors"] == {"chat_id": "no_chat"}
    assert "no_chat" in STRINGS["config_subentries"]["chat"]["error"]
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"chat_id": f"{FORUM_CHAT}/5"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"]["chat_id"] == str(FORUM_CHAT)
    assert result["data"]["message_thread_id"] == 5
    assert result["title"] == "Family #5"
    await hass.async_block_till_done()
    (subentry,) = setup_telegram.subentries.values()
    assert subentry.unique_id == f"{FORUM_CHAT}/5"


@pytest.mark.parametrize("tg_destinations", [[]])
async def test_topic_id_field_has_its_own_message(
    hass: HomeAssistant, server: FakeTelegramServer, setup_telegram: MockConfigEntry
) -> None:
    """0 or a negative topic is our translated error, not "Value 0.0 is too small"."""
    result = await _add_destination(hass, setup_telegram)
    for topic in (0, -3, 2.5):
        result = await hass.config_entries.subentries.async_configure(
            result["flow_id"], {"chat_id": "42", "message_thread_id": topic}
        )
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == {"message_thread_id": "invalid_thread_id"}


def test_split_chat_choice() -> None:
    """A suggestion's value carries its topic; typed ids and @names pass as typed."""
    assert split_chat_choice("-100123/7") == ("-100123", 7)
    assert split_chat_choice(" 42 ") == ("42", None)
    assert split_chat_choice("@family") == ("@family", None)
    assert split_chat_choice("-100123/0") == ("-100123/0", None)
    assert split_chat_choice("/7") == ("/7", None)
    assert split_chat_choice(None) == ("", None)


@pytest.mark.parametrize("tg_destinations", [[]])
async def test_destination_form_errors(
    hass: HomeAssistant, server: FakeTelegramServer, setup_telegram: MockConfigEntry
) -> None:
    """Bad chat ids, topic ids and quiet hours are translated form errors."""
    result = await _add_destination(hass, setup_telegram)
    assert _options(result) == []  # no pending updates: nothing to suggest
    errors_block = STRINGS["config_subentries"]["chat"]["error"]
    cases = [
        ({"chat_id": "not a chat"}, {"chat_id": "invalid_chat_id"}),
        ({"chat_id": "@ab"}, {"chat_id": "invalid_chat_id"}),
        ({"chat_id": "42", "message_thread_id": 2.5}, {"message_thread_id": "invalid_thread_id"}),
        # Errors of the quiet-hours section at the top of the form (the frontend
        # shows none inside a section).
        ({"chat_id": "42", "quiet_hours": {"quiet_start": "22:00:00"}}, {"base": "quiet_hours_incomplete"}),
        ({"chat_id": "42", "quiet_hours": {"quiet_end": "07:00:00"}}, {"base": "quiet_hours_incomplete"}),
        (
            {"chat_id": "42", "quiet_hours": {"quiet_start": "22:00:00", "quiet_end": "22:00:00"}},
            {"base": "quiet_hours_empty"},
        ),
    ]  # fmt: skip
    for form, errors in cases:
        result = await hass.config_entries.subentries.async_configure(
            result["flow_id"], form
        )
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == errors
        for key in errors.values():
            assert key in errors_block
    # getUpdates is asked once per flow, not on every error.
    assert len(server.calls_to("getUpdates")) == 1
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"chat_id": "42"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "42"


@pytest.mark.parametrize("tg_destinations", [[]])
async def test_destination_when_webhook_set(
    hass: HomeAssistant, server: FakeTelegramServer, setup_telegram: MockConfigEntry
) -> None:
    """With a webhook, the form says why no chats are offered instead of failing."""
    server.webhook_url = "https://example.invalid/hook"
    result = await _add_destination(hass, setup_telegram)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert _options(result) == []
    # Said on the form, as a translated note: the webhook hides the chats.
    assert result["errors"] == {"base": "webhook_hides_chats"}
    assert (
        "webhook"
        in STRINGS["config_subentries"]["chat"]["error"]["webhook_hides_chats"]
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"chat_id": "42", "name": "Ann"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_destination_flow_with_entry_not_loaded(
    hass: HomeAssistant, server: FakeTelegramServer, tg_entry: MockConfigEntry
) -> None:
    """Suggestions work with a temporary bot when the entry is not loaded."""
    server.updates = UPDATES
    result = await _add_destination(hass, tg_entry)
    assert [o["value"] for o in _options(result)] == [f"{FORUM_CHAT}/5", "42"]
    # A failing getUpdates only means no suggestions.
    server.fail_next("Internal Server Error", status=500, method="getUpdates")
    result = await _add_destination(hass, tg_entry)
    assert _options(result) == []
    assert result["step_id"] == "user"


async def test_destination_reconfigure(
    hass: HomeAssistant, server: FakeTelegramServer, setup_telegram: MockConfigEntry
) -> None:
    """Editing keeps the subentry; moving onto another destination's chat aborts."""
    entry = setup_telegram
    result = await entry.start_subentry_reconfigure_flow(hass, PRIVATE_DEST_ID)
    assert result["step_id"] == "reconfigure"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {"chat_id": "42", "name": "Ann (silent)", "disable_notification": True},
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    subentry = entry.subentries[PRIVATE_DEST_ID]
    assert subentry.title == "Ann (silent)"
    assert subentry.data["disable_notification"] is True
    dest = entry.runtime_data.destinations[PRIVATE_DEST_ID].destination
    assert dest.disable_notification is True

    result = await entry.start_subentry_reconfigure_flow(hass, PRIVATE_DEST_ID)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"chat_id": str(FORUM_CHAT), "message_thread_id": 5}
    )
    assert result["reason"] == "already_configured"

    server.webhook_url = "https://example.invalid/hook"
    result = await entry.start_subentry_reconfigure_flow(hass, TOPIC_DEST_ID)
    assert result["step_id"] == "reconfigure"
    assert result["errors"] == {"base": "webhook_hides_chats"}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"chat_id": "bad chat"}
    )
    assert result["errors"] == {"chat_id": "invalid_chat_id"}


def test_translations_cover_every_step() -> None:
    """Every step shown has a title and a label for each field."""
    config = STRINGS["config"]["step"]
    for step in ("telegram", "reauth_confirm", "reconfigure"):
        assert config[step]["title"]
        assert {"bot_token"} <= set(config[step]["data"])
    assert set(config["telegram"]["data"]) <= set(
        config["telegram"]["data_description"]
    )
    assert config["user"]["menu_options"]["telegram"]
    chat = STRINGS["config_subentries"]["chat"]
    assert chat["initiate_flow"]["user"] == "Add chat"
    sub = chat["step"]
    fields = {
        "chat_id", "message_thread_id", "name", "disable_notification",
        "send_large_videos_as_documents", "language",
    }  # fmt: skip
    quiet = {"quiet_start", "quiet_end", "quiet_mode", "quiet_weekdays", "max_pending"}
    for step in ("user", "reconfigure"):
        assert set(sub[step]["data"]) == fields
        assert set(sub[step]["sections"]["quiet_hours"]["data"]) == quiet
    for key in ("telegram_auth_failed", "telegram_unreachable"):
        assert STRINGS["exceptions"][key]["message"]


def test_helpers() -> None:
    """Option parsing: chat ids, topics, API URLs, limits, redaction."""
    assert parse_chat_id(" -100123 ") == -100123
    assert parse_chat_id("channel_name") == "@channel_name"
    assert parse_chat_id("") is None
    assert parse_chat_id(None) is None
    assert parse_thread_id(None) is None
    assert parse_thread_id(7.0) == 7
    with pytest.raises(ValueError):
        parse_thread_id(0)
    assert destination_unique_id("@Chan", 1) == "@chan"
    assert destination_unique_id(-5, None) == "-5"
    assert destination_unique_id(-5, 3) == "-5/3"
    assert normalize_api_base_url(None) == ""
    assert normalize_api_base_url("http://h:8081/bot/") == "http://h:8081"
    assert normalize_api_base_url("http://[::1") is None
    assert limits_from_options({}) == OFFICIAL_LIMITS
    assert limits_from_options({"max_upload_mb": 5}) == OFFICIAL_LIMITS
    assert limits_from_options({"api_base_url": "http://h"}) == SELF_HOSTED_LIMITS
    limits = limits_from_options({"api_base_url": "http://h", "max_upload_mb": 5})
    assert (limits.video_bytes, limits.document_bytes) == (5 * MB, 5 * MB)
    assert redact("GET /bot1:abc/getMe abc", "1:abc") == "GET /bot***/getMe ***"
    assert redact("x", "") == "x"
