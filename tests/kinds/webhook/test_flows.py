"""Config and route flows of the gitea, planka and webhook sources."""

from __future__ import annotations

from collections.abc import AsyncIterator
import json
from pathlib import Path
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.notify_bridge.const import DOMAIN, ENTRY_VERSION
from custom_components.notify_bridge.net import CONNECT_REASONS
from tests.common import kind_entry, start_entry_flow, start_subentry_flow

from ...fakes.gitea_server import TOKEN, FakeGitea
from .conftest import GITEA_SECRET, PHONE_ENTITY

STRINGS = (
    Path(__file__).parents[3] / "custom_components" / "notify_bridge" / "strings.json"
)


@pytest.fixture
async def gitea(socket_enabled: None) -> AsyncIterator[FakeGitea]:
    """A started fake Gitea."""
    fake = FakeGitea()
    await fake.start()
    yield fake
    await fake.close()


async def _finish_show_step(hass: HomeAssistant, result: dict[str, Any]) -> Any:
    """The show step displays URL and secret; submitting creates the entry."""
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "show_webhook"
    placeholders = result["description_placeholders"]
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    data = result["data"]
    assert placeholders["webhook_url"].endswith(f"/api/webhook/{data['webhook_id']}")
    return result, placeholders


async def _reconfigure(
    hass: HomeAssistant, result: dict[str, Any], user_input: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Submit a reconfigure form; URL and secret are shown before the entry changes."""
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input
    )
    if result["type"] is not FlowResultType.FORM or result["step_id"] != "show_webhook":
        return result, {}
    placeholders = result["description_placeholders"]
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    return result, placeholders


async def test_gitea_flow_with_token(hass: HomeAssistant, gitea: FakeGitea) -> None:
    """The token is checked; the secret is generated and shown with the URL."""
    result = await start_entry_flow(hass, "gitea")
    assert result["step_id"] == "gitea"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            "name": "Forge",
            "url": gitea.url + "/",
            "token": TOKEN,
            "scan_interval": 5,
            "local_only": False,
        },
    )
    result, placeholders = await _finish_show_step(hass, result)
    data = result["data"]
    assert result["title"] == "Forge"
    assert data["url"] == gitea.url
    assert data["token"] == TOKEN
    assert data["scan_interval"] == 5
    assert len(data["webhook_secret"]) >= 32
    assert placeholders["secret"] == data["webhook_secret"]
    assert gitea.requests["/api/v1/version"] == 1
    assert gitea.requests["/api/v1/user"] == 1
    assert result["result"].unique_id == f"gitea:{gitea.url}"


async def test_gitea_flow_without_token_skips_network(hass: HomeAssistant) -> None:
    """Without a token nothing is asked of Gitea (it may be unreachable from HA)."""
    result = await start_entry_flow(hass, "gitea")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {"name": "Forge", "url": "https://git.example", "scan_interval": 0},
    )
    result, _ = await _finish_show_step(hass, result)
    assert "token" not in result["data"]


@pytest.mark.parametrize(
    ("change", "user_input", "errors"),
    [
        (None, {"url": "ftp://git.example"}, {"url": "invalid_url"}),
        (None, {"url": "git.example"}, {"url": "invalid_url"}),
        (None, {"token": "wrong"}, {"token": "gitea_invalid_auth"}),
        (
            None,
            {"token": "", "scan_interval": 5},
            {"scan_interval": "polling_needs_token"},
        ),
        ({"fail_with": 404}, {}, {"url": "not_gitea"}),
        ({"fail_with": 502}, {}, {"base": "gitea_cannot_connect"}),
        ({"version": None}, {}, {"url": "not_gitea"}),
        ("closed", {}, {"base": "gitea_cannot_connect"}),
    ],
)
async def test_gitea_flow_errors(
    hass: HomeAssistant,
    gitea: FakeGitea,
    change: Any,
    user_input: dict[str, Any],
    errors: dict[str, str],
) -> None:
    """Each failure is a translated field error; fixing it then succeeds."""
    url = gitea.url
    if change == "closed":
        await gitea.close()
    elif change:
        for key, value in change.items():
            setattr(gitea, key, value)
    result = await start_entry_flow(hass, "gitea")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {"name": "Forge", "url": url, "token": TOKEN, **user_input},
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors


@pytest.mark.parametrize(
    ("change", "reason"),
    [({"fail_with": 502}, "error"), ("closed", "refused")],
)
async def test_gitea_cannot_connect_says_which_server_and_why(
    hass: HomeAssistant, gitea: FakeGitea, change: Any, reason: str
) -> None:
    """ "Could not connect" names the instance (without credentials) and the
    reason: a refused connection, or a server answering with an error."""
    url = gitea.url
    if change == "closed":
        await gitea.close()
    else:
        gitea.fail_with = 502
    result = await start_entry_flow(hass, "gitea")
    with_credentials = url.replace("://", "://me:pw@")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": "Forge", "url": with_credentials, "token": TOKEN}
    )
    assert result["errors"] == {"base": "gitea_cannot_connect"}
    shown = result["description_placeholders"]
    assert (shown["server"], shown["reason"]) == (url, CONNECT_REASONS[reason])
    strings = json.loads(STRINGS.read_text(encoding="utf-8"))
    text = strings["config"]["error"]["gitea_cannot_connect"]
    assert "{server}" in text
    assert "{reason}" in text


async def test_gitea_duplicate_aborts(hass: HomeAssistant, gitea: FakeGitea) -> None:
    """The same instance twice aborts."""
    kind_entry(hass, "gitea", data={"url": gitea.url}, unique_id=f"gitea:{gitea.url}")
    result = await start_entry_flow(hass, "gitea")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": "Forge", "url": gitea.url, "token": TOKEN}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "gitea_already_configured"


async def test_gitea_reconfigure_shows_secret_and_regenerates(
    hass: HomeAssistant,
    setup_webhooks: Any,
    gitea_entry: MockConfigEntry,
    gitea: FakeGitea,
) -> None:
    """Reconfigure shows the webhook URL and secret again and can replace it."""
    await setup_webhooks(gitea_entry)
    result = await gitea_entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure"
    placeholders = result["description_placeholders"]
    assert {"name": "Gitea", "service": "Gitea"}.items() <= placeholders.items()

    # Another instance's URL is refused.
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"url": gitea.url, "scan_interval": 0}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "gitea_different_instance"

    # Unchanged secret: shown again before saving.
    result = await gitea_entry.start_reconfigure_flow(hass)
    result, placeholders = await _reconfigure(
        hass, result, {"url": "https://git.example", "scan_interval": 0}
    )
    assert result["reason"] == "reconfigure_successful"
    assert placeholders["secret"] == GITEA_SECRET
    assert "/api/webhook/" in placeholders["webhook_url"]

    result = await gitea_entry.start_reconfigure_flow(hass)
    result, placeholders = await _reconfigure(
        hass,
        result,
        {"url": "https://git.example", "scan_interval": 0, "regenerate_secret": True},
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert gitea_entry.data["webhook_secret"] != GITEA_SECRET
    # The new secret is what the user was shown.
    assert placeholders["secret"] == gitea_entry.data["webhook_secret"]
    assert gitea_entry.data["webhook_id"] == "gitea-hook-0123456789abcdef"

    result = await gitea_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"url": "nope", "scan_interval": 0}
    )
    assert result["errors"] == {"url": "invalid_url"}


@pytest.mark.parametrize(
    "gitea_data",
    [
        {
            "kind": "gitea",
            "url": "http://127.0.0.1:1",
            "token": "old-token",
            "webhook_id": "gitea-hook-0123456789abcdef",
            "webhook_secret": GITEA_SECRET,
            "scan_interval": 0,
        }
    ],
)
async def test_gitea_reauth(
    hass: HomeAssistant,
    gitea_entry: MockConfigEntry,
    gitea: FakeGitea,
) -> None:
    """Reauth asks for a new token and checks it."""
    hass.config_entries.async_update_entry(
        gitea_entry,
        data={**gitea_entry.data, "url": gitea.url},
        unique_id=f"gitea:{gitea.url}",
    )
    result = await gitea_entry.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_confirm"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"token": "still-wrong"}
    )
    assert result["errors"] == {"token": "gitea_invalid_auth"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"token": TOKEN}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert gitea_entry.data["token"] == TOKEN


async def test_planka_flow_and_reconfigure(
    hass: HomeAssistant, setup_webhooks: Any, planka_entry: MockConfigEntry
) -> None:
    """An access token is generated and shown; reconfigure shows it again."""
    await setup_webhooks(planka_entry)
    result = await start_entry_flow(hass, "planka")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": "Boards", "url": "not a url"}
    )
    assert result["errors"] == {"url": "invalid_url"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": "Boards", "url": "https://planka.lan/"}
    )
    result, placeholders = await _finish_show_step(hass, result)
    assert result["data"]["url"] == "https://planka.lan"
    assert placeholders["secret"] == result["data"]["access_token"]

    old_token = planka_entry.data["access_token"]
    result = await planka_entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"url": "bad url"}
    )
    assert result["errors"] == {"url": "invalid_url"}
    result, placeholders = await _reconfigure(
        hass, result, {"local_only": True, "regenerate_secret": True}
    )
    assert result["reason"] == "reconfigure_successful"
    assert placeholders["secret"] == planka_entry.data["access_token"]
    assert planka_entry.data["access_token"] != old_token
    assert planka_entry.data["local_only"] is True
    assert "url" not in planka_entry.data


async def test_webhook_flow(hass: HomeAssistant) -> None:
    """HMAC by default (secret generated); `none` needs local only; headers checked."""
    result = await start_entry_flow(hass, "webhook")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": "Hooks", "auth_mode": "none"}
    )
    assert result["errors"] == {"auth_mode": "none_requires_local_only"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {"name": "Hooks", "auth_mode": "hmac_sha256", "signature_header": "Bad Header"},
    )
    assert result["errors"] == {"signature_header": "invalid_header_name"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            "name": "Hooks",
            "auth_mode": "hmac_sha256",
            "timestamp_header": "X-Timestamp",
            "event_field": "event.type",
        },
    )
    result, placeholders = await _finish_show_step(hass, result)
    data = result["data"]
    assert data["auth_mode"] == "hmac_sha256"
    assert data["timestamp_header"] == "X-Timestamp"
    assert placeholders["secret"] == data["secret"]

    result = await start_entry_flow(hass, "webhook")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": "Local", "auth_mode": "none", "local_only": True}
    )
    result, placeholders = await _finish_show_step(hass, result)
    assert "secret" not in result["data"]
    assert placeholders["secret"] == "-"


async def test_webhook_reconfigure(
    hass: HomeAssistant, setup_webhooks: Any, generic_entry: MockConfigEntry
) -> None:
    """Reconfigure keeps the secret unless asked to regenerate it."""
    await setup_webhooks(generic_entry)
    secret = generic_entry.data["secret"]
    result = await generic_entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"auth_mode": "none", "local_only": False}
    )
    assert result["errors"] == {"auth_mode": "none_requires_local_only"}
    result, placeholders = await _reconfigure(
        hass, result, {"auth_mode": "bearer", "local_only": False}
    )
    assert result["reason"] == "reconfigure_successful"
    assert placeholders["secret"] == secret
    assert generic_entry.data["secret"] == secret
    assert generic_entry.data["auth_mode"] == "bearer"

    result = await generic_entry.start_reconfigure_flow(hass)
    result, _ = await _reconfigure(
        hass, result, {"auth_mode": "bearer", "regenerate_secret": True}
    )
    assert generic_entry.data["secret"] != secret


async def test_show_step_without_pending_aborts(hass: HomeAssistant) -> None:
    """The show step cannot create an entry it was not given."""
    from custom_components.notify_bridge.config_flow import NotifyBridgeConfigFlow

    flow = NotifyBridgeConfigFlow()
    flow.hass = hass
    result = await flow.async_step_show_webhook({})
    assert result["type"] is FlowResultType.ABORT


# --- Route subentries --------------------------------------------------------------


async def _route(
    hass: HomeAssistant, entry: MockConfigEntry, user_input: dict[str, Any]
) -> dict[str, Any]:
    result = await start_subentry_flow(hass, entry)
    assert result["type"] is FlowResultType.FORM
    return await hass.config_entries.subentries.async_configure(
        result["flow_id"], user_input
    )


async def test_gitea_route_flow(
    hass: HomeAssistant, setup_webhooks: Any, gitea_entry: MockConfigEntry
) -> None:
    """Repositories, events and branches are cleaned and validated."""
    await setup_webhooks(gitea_entry)
    base = {"name": "Tools", "destinations": [PHONE_ENTITY], "events": ["push"]}
    for user_input, errors in (
        ({"repositories": ["acme"]}, {"repositories": "invalid_repository"}),
        ({"events": []}, {"events": "no_events"}),
        ({"destinations": []}, {"destinations": "no_destinations"}),
        ({"template": "{% if %}"}, {"template": "invalid_template"}),
        ({"title_template": "{{ x"}, {"title_template": "invalid_template"}),
    ):
        result = await _route(hass, gitea_entry, {**base, **user_input})
        assert result["errors"] == errors, user_input
    result = await _route(
        hass,
        gitea_entry,
        {
            **base,
            "repositories": [" acme/tools ", "acme/tools", ""],
            "branches": ["main", " "],
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"]["repositories"] == ["acme/tools"]
    assert result["data"]["branches"] == ["main"]
    assert result["data"]["template"] == ""
    assert result["data"]["notable_only"] is True


async def test_planka_and_generic_route_flows(
    hass: HomeAssistant,
    setup_webhooks: Any,
    planka_entry: MockConfigEntry,
    generic_entry: MockConfigEntry,
) -> None:
    """Planka routes pick boards and events; generic routes types and values."""
    await setup_webhooks(planka_entry, generic_entry)
    base = {"name": "R", "destinations": [PHONE_ENTITY]}
    result = await _route(hass, planka_entry, {**base, "events": []})
    assert result["errors"] == {"events": "no_events"}
    result = await _route(
        hass, planka_entry, {**base, "events": ["card_moved"], "boards": ["Chores"]}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"]["boards"] == ["Chores"]

    result = await _route(hass, generic_entry, {**base, "event_data": {"a..b": 1}})
    assert result["errors"] == {"event_data": "invalid_event_data"}
    result = await _route(
        hass,
        generic_entry,
        {**base, "event_types": ["build"], "event_data": {"status": "failed"}},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"]["event_types"] == ["build"]
    assert result["data"]["template"] == "{{ event_type }}: {{ payload }}"


async def test_gitea_reconfigure_keeps_token(
    hass: HomeAssistant, gitea: FakeGitea
) -> None:
    """The stored token is never sent back to the form; left empty, it is kept."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        version=ENTRY_VERSION,
        title="Forge",
        data={
            "kind": "gitea",
            "url": gitea.url,
            "token": TOKEN,
            "webhook_id": "hook",
            "webhook_secret": GITEA_SECRET,
            "scan_interval": 0,
        },
        unique_id=f"gitea:{gitea.url}",
    )
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    suggested = {
        str(key): key.description.get("suggested_value")
        for key in result["data_schema"].schema
        if key.description
    }
    assert suggested.get("token") is None
    assert suggested["url"] == gitea.url
    result, _ = await _reconfigure(
        hass, result, {"url": gitea.url, "scan_interval": 10}
    )
    assert result["reason"] == "reconfigure_successful"
    assert entry.data["token"] == TOKEN
    assert entry.data["scan_interval"] == 10
    assert entry.data["webhook_secret"] == GITEA_SECRET
    assert gitea.requests["/api/v1/user"] == 1
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(entry.entry_id)
