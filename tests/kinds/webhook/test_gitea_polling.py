"""Gitea polling against a fake Gitea API server (real aiohttp on 127.0.0.1)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
)

from custom_components.notify_bridge.const import DOMAIN
from custom_components.notify_bridge.kinds.gitea.setup import GiteaRuntime
from tests.common import assert_no_secret_printed, reachable_reprs

from ...fakes.gitea_server import TOKEN, FakeGitea
from ...sources.webhook.payloads import gitea_request, issue_payload
from .conftest import GITEA_ENTRY_ID, GITEA_SECRET, GITEA_WEBHOOK_ID, webhook_route

PROBLEM = "binary_sensor.gitea_problem"


@pytest.fixture
async def gitea(socket_enabled: None) -> AsyncIterator[FakeGitea]:
    """A started fake Gitea with an old issue (history is not news)."""
    fake = FakeGitea()
    await fake.start()
    fake.add_issue(
        "acme/tools", 1, "Old issue", created=dt_util.utcnow() - timedelta(seconds=30)
    )
    yield fake
    await fake.close()


@pytest.fixture
def gitea_data(gitea: FakeGitea) -> dict[str, Any]:
    """A Gitea entry with a token and a 5-minute poll."""
    return {
        "kind": "gitea",
        "url": gitea.url,
        "token": TOKEN,
        "webhook_id": GITEA_WEBHOOK_ID,
        "webhook_secret": GITEA_SECRET,
        "local_only": False,
        "scan_interval": 5,
    }


async def poll(hass: HomeAssistant) -> None:
    """Poll now, as the interval timer would.

    (`async_fire_time_changed` would also fire aiohttp's own timers of the live
    connections to the fake server.)
    """
    entry = hass.config_entries.async_get_entry(GITEA_ENTRY_ID)
    await entry.runtime_data.poller.async_refresh()
    await hass.async_block_till_done()


def messages(calls: list) -> list[str]:
    """Return the messages the legacy notify service received."""
    return [call.data["message"] for call in calls]


async def test_poll_reports_new_items_once(
    hass: HomeAssistant,
    setup_webhooks: Any,
    gitea_entry: MockConfigEntry,
    gitea: FakeGitea,
    legacy_notify_calls: list,
) -> None:
    """New issues, merged PRs and releases are notified once; history never."""
    await setup_webhooks(gitea_entry)
    assert hass.states.get(PROBLEM).state == "off"
    assert gitea.requests["/api/v1/repos/issues/search"] == 1
    assert legacy_notify_calls == []  # the baseline poll notifies nothing

    now = dt_util.utcnow()
    gitea.add_issue("acme/tools", 2, "New issue", created=now)
    gitea.add_issue(
        "acme/tools",
        3,
        "Feature",
        pull=True,
        created=now - timedelta(days=1),
        closed=now,
        merged=True,
    )
    gitea.add_release("acme/tools", "v2.0.0", published=now)
    gitea.add_release("acme/tools", "v2.1.0-draft", published=now, draft=True)
    await poll(hass)
    sent = messages(legacy_notify_calls)
    assert len(sent) == 3, sent
    assert any("opened issue #2" in text for text in sent)
    assert any("merged pull request #3" in text for text in sent)
    assert any("release Release v2.0.0" in text for text in sent)
    assert not any("Old issue" in text for text in sent)

    await poll(hass)
    assert len(legacy_notify_calls) == 3


async def test_poll_skips_what_a_webhook_reported(
    hass: HomeAssistant,
    setup_webhooks: Any,
    gitea_entry: MockConfigEntry,
    gitea: FakeGitea,
    legacy_notify_calls: list,
) -> None:
    """An issue notified by webhook is not reported again by the next poll."""
    client = await setup_webhooks(gitea_entry)
    body, headers = gitea_request("issues", issue_payload("opened"), GITEA_SECRET)
    response = await client.post(
        f"/api/webhook/{GITEA_WEBHOOK_ID}", data=body, headers=headers
    )
    assert response.status == 202
    await hass.async_block_till_done()
    assert len(legacy_notify_calls) == 1

    gitea.add_issue(
        "acme/tools", 12, "Crash on <empty> input", created=dt_util.utcnow()
    )
    await poll(hass)
    assert len(legacy_notify_calls) == 1


@pytest.mark.parametrize(
    "gitea_routes",
    [[webhook_route({"repositories": ["acme/tools"], "events": ["issues"]})]],
)
async def test_poll_watches_named_repositories_only(
    hass: HomeAssistant,
    setup_webhooks: Any,
    gitea_entry: MockConfigEntry,
    gitea: FakeGitea,
    legacy_notify_calls: list,
) -> None:
    """Routes naming repositories: no repository listing, others filtered out."""
    gitea.repos.append("acme/other")
    await setup_webhooks(gitea_entry)
    gitea.add_issue("acme/other", 5, "Elsewhere", created=dt_util.utcnow())
    gitea.add_issue("acme/tools", 6, "Here", created=dt_util.utcnow())
    await poll(hass)
    assert gitea.requests["/api/v1/user/repos"] == 0
    assert gitea.requests["/api/v1/repos/acme/other/releases"] == 0
    assert [("#6" in text) for text in messages(legacy_notify_calls)] == [True]


@pytest.mark.parametrize(
    "gitea_routes",
    [[webhook_route({"repositories": ["ACME/Tools"], "events": ["issues"]})]],
)
async def test_poll_matches_repositories_in_any_case(
    hass: HomeAssistant,
    setup_webhooks: Any,
    gitea_entry: MockConfigEntry,
    gitea: FakeGitea,
    legacy_notify_calls: list,
) -> None:
    """A route typed "ACME/Tools" gets the polled issues of "acme/tools"."""
    await setup_webhooks(gitea_entry)
    gitea.add_issue("acme/tools", 8, "Case", created=dt_util.utcnow())
    await poll(hass)
    assert [("#8" in text) for text in messages(legacy_notify_calls)] == [True]


async def test_poll_failures_show_problem_and_start_reauth(
    hass: HomeAssistant,
    setup_webhooks: Any,
    gitea_entry: MockConfigEntry,
    gitea: FakeGitea,
    legacy_notify_calls: list,
) -> None:
    """A server error turns the problem sensor on; a refused token starts reauth."""
    client = await setup_webhooks(gitea_entry)
    gitea.fail_with = 500
    await poll(hass)
    assert hass.states.get(PROBLEM).state == "on"
    gitea.fail_with = None
    await poll(hass)
    assert hass.states.get(PROBLEM).state == "off"

    gitea.token = "rotated-token"
    await poll(hass)
    assert hass.states.get(PROBLEM).state == "on"
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]

    # Webhooks keep working while polling is broken.
    body, headers = gitea_request("issues", issue_payload("opened"), GITEA_SECRET)
    response = await client.post(
        f"/api/webhook/{GITEA_WEBHOOK_ID}", data=body, headers=headers
    )
    await hass.async_block_till_done()
    assert response.status == 202
    assert len(legacy_notify_calls) == 1


async def test_cursor_persisted_across_reload(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    setup_webhooks: Any,
    gitea_entry: MockConfigEntry,
    gitea: FakeGitea,
    legacy_notify_calls: list,
) -> None:
    """After a reload the next poll continues from the stored cursor."""
    await setup_webhooks(gitea_entry)
    gitea.add_issue("acme/tools", 7, "While reloading", created=dt_util.utcnow())
    assert await hass.config_entries.async_reload(gitea_entry.entry_id)
    await hass.async_block_till_done()
    # The first poll after the reload is not a baseline: the new issue is news.
    assert any("#7" in text for text in messages(legacy_notify_calls))
    stored = hass_storage[f"notify_bridge.webhook.{gitea_entry.entry_id}"]["data"]
    assert stored["cursor"] is not None


async def test_refresh_action_polls_gitea(
    hass: HomeAssistant,
    setup_webhooks: Any,
    gitea_entry: MockConfigEntry,
    gitea: FakeGitea,
) -> None:
    """notify_bridge.refresh polls Gitea too, not only Immich."""
    await setup_webhooks(gitea_entry)
    before = gitea.requests["/api/v1/repos/issues/search"]
    await hass.services.async_call(
        DOMAIN, "refresh", {"config_entry_id": [GITEA_ENTRY_ID]}, blocking=True
    )
    assert gitea.requests["/api/v1/repos/issues/search"] == before + 1


async def test_refresh_button_only_when_gitea_polls(
    hass: HomeAssistant,
    setup_webhooks: Any,
    gitea_entry: MockConfigEntry,
    gitea: FakeGitea,
) -> None:
    """A polling Gitea entry has a "Refresh now" button that polls; the same
    entry without polling has none (nothing to refresh)."""
    await setup_webhooks(gitea_entry)
    registry = er.async_get(hass)
    button = registry.async_get_entity_id("button", DOMAIN, f"{GITEA_ENTRY_ID}_refresh")
    assert button is not None
    before = gitea.requests["/api/v1/repos/issues/search"]
    await hass.services.async_call(
        "button", "press", {"entity_id": button}, blocking=True
    )
    assert gitea.requests["/api/v1/repos/issues/search"] == before + 1

    hass.config_entries.async_update_entry(
        gitea_entry, data={**gitea_entry.data, "scan_interval": 0}
    )
    assert await hass.config_entries.async_reload(gitea_entry.entry_id)
    await hass.async_block_till_done()
    # Gone, not left unavailable.
    assert registry.async_get(button) is None
    assert hass.states.get(button) is None


async def test_runtime_never_prints_token_or_secret(
    hass: HomeAssistant, setup_webhooks: Any, gitea_entry: MockConfigEntry
) -> None:
    """repr() of the runtime and of every object of ours it reaches hides both."""
    await setup_webhooks(gitea_entry)
    runtime = gitea_entry.runtime_data
    assert isinstance(runtime, GiteaRuntime)
    reprs = reachable_reprs(runtime)
    assert "runtime_data.poller.client" in reprs
    assert "runtime_data.endpoint.ingress" in reprs
    assert assert_no_secret_printed(runtime, [TOKEN, GITEA_SECRET]) > 4
