"""In-memory destinations and events for pipeline tests."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from custom_components.notify_bridge.pipeline.models import (
    BridgeEvent,
    DeliveryError,
    DeliveryResult,
    Notification,
    OutputFormat,
    freeze,
)


@dataclass
class MemoryDestination:
    """Records what it is asked to deliver; can be told to fail or stall."""

    destination_id: str
    name: str = "memory"
    output_format: OutputFormat = OutputFormat.PLAIN
    # The reader's language ("ru", "en-GB"); None = the pipeline's default.
    language: str | None = None
    fail_with: Exception | None = None
    delay: float = 0.0
    received: list[Notification] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0

    async def async_deliver(self, notification: Notification) -> DeliveryResult:
        """Record the notification, or fail as configured."""
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            if self.fail_with is not None:
                raise self.fail_with
            self.received.append(notification)
            return DeliveryResult(
                destination_id=self.destination_id,
                destination_name=self.name,
                success=True,
                messages_sent=1,
            )
        finally:
            self.in_flight -= 1


def make_event(
    data: dict[str, Any], *, event_type: str = "thing_happened", source: str = "src"
) -> BridgeEvent:
    """Return an event of source `src`."""
    return BridgeEvent(
        source_entry_id=source,
        source_kind="test",
        event_type=event_type,
        data=freeze(data),
        occurred_at=datetime(2025, 1, 1, tzinfo=UTC),
        request_id="req-1",
    )


__all__ = ["DeliveryError", "MemoryDestination", "make_event"]
