"""Webhook sources set up for real: HA's http server, webhook component, destinations.

Deliveries are posted to /api/webhook/<id> through Home Assistant's own HTTP app with
`hass_client_no_auth`; notifications land in the legacy notify service `notify.phone`
(plain text, so the rendered message can be compared exactly).
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from aiohttp import StreamReader
from aiohttp.web_protocol import RequestHandler
from homeassistant.config_entries import ConfigSubentryDataWithId
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.notify_bridge.const import DOMAIN, ENTRY_VERSION
from custom_components.notify_bridge.kinds.shared.webhook_source import (
    WebhookEndpoint,
)
from tests.common import typed
from tests.conftest import DEMO_DESTINATION_ID, destination, route

from ...fakes.gitea_server import FakeGitea

PHONE_DESTINATION_ID = "dest_phone"
PHONE_ENTITY = "notify.phone_notifications"
GITEA_ENTRY_ID = "gitea_entry"
PLANKA_ENTRY_ID = "planka_entry"
GENERIC_ENTRY_ID = "generic_entry"
GITEA_WEBHOOK_ID = "gitea-hook-0123456789abcdef"
PLANKA_WEBHOOK_ID = "planka-hook-0123456789abcdef"
GENERIC_WEBHOOK_ID = "generic-hook-0123456789abcdef"
GITEA_SECRET = "gitea-webhook-secret-0123456789"
PLANKA_TOKEN = "planka-access-token-0123456789"
GENERIC_SECRET = "generic-webhook-secret-0123456789"
ROUTE_ID = "route_webhook"


@pytest.fixture
def destinations() -> list[ConfigSubentryDataWithId]:
    """A persistent notification and a legacy notify service (plain text)."""
    return [
        destination(
            DEMO_DESTINATION_ID,
            "Demo notifications",
            {"delivery": "persistent_notification"},
        ),
        destination(
            PHONE_DESTINATION_ID,
            "Phone notifications",
            {"delivery": "notify_service", "notify_service": "phone"},
            unique_id="notify_service:phone",
        ),
    ]


def webhook_route(data: dict[str, Any], route_id: str = ROUTE_ID) -> Any:
    """A route delivering to the phone destination."""
    return route(route_id, "Route", {"destinations": [PHONE_ENTITY], **data})


@pytest.fixture
def gitea_routes() -> list[ConfigSubentryDataWithId]:
    """Routes of the Gitea entry: every event type, notable actions only."""
    return [webhook_route({"repositories": [], "events": [], "notable_only": True})]


@pytest.fixture
def gitea_data() -> dict[str, Any]:
    """Data of the Gitea entry."""
    return {
        "kind": "gitea",
        "url": "https://git.example",
        "webhook_id": GITEA_WEBHOOK_ID,
        "webhook_secret": GITEA_SECRET,
        "local_only": False,
        "scan_interval": 0,
    }


@pytest.fixture
def gitea_entry(
    hass: HomeAssistant,
    gitea_data: dict[str, Any],
    gitea_routes: list[ConfigSubentryDataWithId],
) -> MockConfigEntry:
    """The Gitea source entry."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        version=ENTRY_VERSION,
        title="Gitea",
        data=gitea_data,
        unique_id=f"gitea:{gitea_data['url']}",
        entry_id=GITEA_ENTRY_ID,
        subentries_data=typed("gitea", gitea_routes),
    )
    entry.add_to_hass(hass)
    return entry


@pytest.fixture
def planka_routes() -> list[ConfigSubentryDataWithId]:
    """Routes of the Planka entry: the default events of every board."""
    return [webhook_route({"boards": [], "events": []})]


@pytest.fixture
def planka_entry(
    hass: HomeAssistant, planka_routes: list[ConfigSubentryDataWithId]
) -> MockConfigEntry:
    """The Planka source entry."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        version=ENTRY_VERSION,
        title="Planka",
        data={
            "kind": "planka",
            "url": "https://planka.example",
            "webhook_id": PLANKA_WEBHOOK_ID,
            "access_token": PLANKA_TOKEN,
            "local_only": False,
        },
        entry_id=PLANKA_ENTRY_ID,
        subentries_data=typed("planka", planka_routes),
    )
    entry.add_to_hass(hass)
    return entry


@pytest.fixture
def generic_data() -> dict[str, Any]:
    """Data of the generic webhook entry (HMAC with a timestamp)."""
    return {
        "kind": "webhook",
        "webhook_id": GENERIC_WEBHOOK_ID,
        "auth_mode": "hmac_sha256",
        "secret": GENERIC_SECRET,
        "local_only": False,
        "signature_header": "X-Signature-256",
        "signature_prefix": True,
        "timestamp_header": "X-Timestamp",
        "idempotency_header": "Idempotency-Key",
        "event_field": "event.type",
    }


@pytest.fixture
def generic_routes() -> list[ConfigSubentryDataWithId]:
    """Routes of the generic entry: `deploy.*` events rendered over the payload."""
    return [
        webhook_route(
            {
                "event_types": ["deploy.failed"],
                "event_data": {},
                "template": "Deploy of {{ payload.service }} failed: "
                "{{ payload.event.reason }}",
            }
        )
    ]


@pytest.fixture
def generic_entry(
    hass: HomeAssistant,
    generic_data: dict[str, Any],
    generic_routes: list[ConfigSubentryDataWithId],
) -> MockConfigEntry:
    """The generic webhook source entry."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        version=ENTRY_VERSION,
        title="Deploys",
        data=generic_data,
        entry_id=GENERIC_ENTRY_ID,
        subentries_data=typed("webhook", generic_routes),
    )
    entry.add_to_hass(hass)
    return entry


@pytest.fixture
async def setup_webhooks(
    hass: HomeAssistant,
    target_entry: MockConfigEntry,
    legacy_notify_calls: list,
    hass_client_no_auth: ClientSessionGenerator,
) -> Callable[..., Any]:
    """Return a function setting up Notify Bridge with source entries.

    It returns an HTTP client of Home Assistant's own server (webhooks need no auth).
    """

    async def setup(*entries: MockConfigEntry) -> Any:
        assert await async_setup_component(hass, DOMAIN, {})
        await hass.async_block_till_done()
        for entry in entries:
            assert entry.state.value == "loaded", entry.state
        return await hass_client_no_auth()

    return setup


def endpoint(hass: HomeAssistant, entry_id: str) -> WebhookEndpoint:
    """Return an entry's registered webhook endpoint."""
    return hass.config_entries.async_get_entry(entry_id).runtime_data.endpoint


class BodyReadCounter:
    """Body bytes read from request streams while a webhook handler ran."""

    def __init__(self) -> None:
        """Start at zero."""
        self.bytes = 0
        self.handled = 0


_IN_HANDLER: ContextVar[bool] = ContextVar("in_webhook_handler", default=False)


@pytest.fixture
def body_reads(monkeypatch: pytest.MonkeyPatch) -> BodyReadCounter:
    """Count every request-body byte aiohttp hands out while a webhook is handled.

    Independent of the ingress's own count: whatever in the request path reads the
    body (the glue, HA's webhook layer, the ingress) goes through aiohttp's
    StreamReader. Reads after the handler returned (aiohttp draining an unread body
    so the client sees the response) are not the handler's and are not counted.
    """
    counter = BodyReadCounter()
    for name in ("read", "readany", "readexactly", "readchunk", "readline"):

        def make(original: Any) -> Any:
            async def counting(self: StreamReader, *args: Any, **kwargs: Any) -> Any:
                data = await original(self, *args, **kwargs)
                if _IN_HANDLER.get() and isinstance(
                    getattr(self, "_protocol", None), RequestHandler
                ):
                    counter.bytes += len(data[0] if isinstance(data, tuple) else data)
                return data

            return counting

        monkeypatch.setattr(StreamReader, name, make(getattr(StreamReader, name)))

    original_handle = WebhookEndpoint.async_handle

    async def handle(self: WebhookEndpoint, *args: Any) -> Any:
        token = _IN_HANDLER.set(True)
        try:
            return await original_handle(self, *args)
        finally:
            _IN_HANDLER.reset(token)
            counter.handled += 1

    monkeypatch.setattr(WebhookEndpoint, "async_handle", handle)
    return counter


__all__ = ["FakeGitea"]
