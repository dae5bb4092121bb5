"""A real aiohttp server on 127.0.0.1 whose handler runs the shared ingress.

The handler wraps the request so every body byte the ingress reads is counted, and
refuses the bulk readers (`read`, `json`, `post`, `text`) that would bypass the count:
"no body read" assertions rest on this counter and on the server-side stream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
import pytest

from custom_components.notify_bridge.sources.ingress import (
    AuthConfig,
    AuthMode,
    InboundWebhook,
    IngressConfig,
    IngressResult,
    ReplayGuard,
    async_receive,
)

SECRET = "s3cr3t-webhook-key-0123456789"


class CountingContent:
    """Count body bytes read through `read`; any other reader fails the test."""

    def __init__(self, content: Any) -> None:
        """Wrap the request's real stream."""
        self._content = content
        self.bytes = 0

    async def read(self, n: int = -1) -> bytes:
        """Read through to the real stream, counting."""
        data = await self._content.read(n)
        self.bytes += len(data)
        return data

    def __getattr__(self, name: str) -> Any:
        """Refuse every uncounted way of reading the body."""
        raise AssertionError(f"ingress used an uncounted stream method: {name}")


class CountingRequest:
    """Forward everything to the real request except the body, which is counted."""

    def __init__(self, request: web.Request) -> None:
        """Wrap a real aiohttp request."""
        self._request = request
        self.content = CountingContent(request.content)

    def __getattr__(self, name: str) -> Any:
        """Forward headers, method, content type and length."""
        if name in {"read", "json", "post", "text", "multipart"}:
            raise AssertionError(f"ingress read the body with request.{name}()")
        return getattr(self._request, name)


@dataclass
class Seen:
    """What the server observed for one request."""

    result: IngressResult
    counted_bytes: int
    # Bytes the server-side stream had received from the socket at hand-back time.
    stream_total_bytes: int
    stream_at_eof: bool


type HandoffFn = Callable[[InboundWebhook], Awaitable[None]]


@dataclass
class Harness:
    """A webhook endpoint under test: its config, replay guard and observations."""

    client: TestClient
    config: IngressConfig
    guard: ReplayGuard | None = None
    handed: list[InboundWebhook] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    handoff: HandoffFn | None = None
    clock: Callable[[], float] | None = None

    async def default_handoff(self, inbound: InboundWebhook) -> None:
        """Record the hand-off."""
        self.handed.append(inbound)

    async def handle(self, request: web.Request) -> web.Response:
        """Run the ingress exactly as the HA glue will."""
        counting = CountingRequest(request)
        kwargs: dict[str, Any] = {"replay_guard": self.guard}
        if self.clock is not None:
            kwargs["clock"] = self.clock
        result = await async_receive(
            counting,  # type: ignore[arg-type]
            self.config,
            self.handoff or self.default_handoff,
            **kwargs,
        )
        self.seen.append(
            Seen(
                result=result,
                counted_bytes=counting.content.bytes,
                stream_total_bytes=request.content.total_bytes,
                stream_at_eof=request.content.at_eof(),
            )
        )
        return result.to_response()

    @property
    def last(self) -> Seen:
        """Return what the server saw for the latest request."""
        return self.seen[-1]

    @property
    def url(self) -> str:
        """Return the absolute URL of the endpoint."""
        return str(self.client.make_url("/hook"))


def hmac_config(**auth: Any) -> IngressConfig:
    """Return an HMAC ingress config with the test secret."""
    delivery = auth.pop("delivery_id_header", "X-Delivery")
    max_body = auth.pop("max_body_bytes", None)
    extra = {"max_body_bytes": max_body} if max_body else {}
    return IngressConfig(
        auth=AuthConfig(mode=AuthMode.HMAC_SHA256, secret=SECRET, **auth),
        delivery_id_header=delivery,
        **extra,
    )


@pytest.fixture
async def harness(socket_enabled: None) -> AsyncIterator[Harness]:
    """Start a real server on 127.0.0.1 with an HMAC-protected /hook."""
    app = web.Application()
    holder: dict[str, Harness] = {}

    async def handler(request: web.Request) -> web.Response:
        return await holder["h"].handle(request)

    app.router.add_route("*", "/hook", handler)
    server = TestServer(app, host="127.0.0.1")
    client = TestClient(server)
    await client.start_server()
    holder["h"] = Harness(client=client, config=hmac_config(), guard=ReplayGuard())
    try:
        yield holder["h"]
    finally:
        await client.close()
