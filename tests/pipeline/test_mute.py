"""A muted destination (a chat's /mute): held like deferring quiet hours, until then."""

from __future__ import annotations

from datetime import timedelta

from custom_components.notify_bridge.pipeline.models import (
    Button,
    DeliveryContext,
    Notification,
)
from custom_components.notify_bridge.pipeline.outbox import (
    PendingItem,
    PendingReason,
    new_pending,
)

from .helpers import MemoryDestination
from .test_delivery_policy import Clock, at, make


async def test_muted_destination_holds_until_the_time() -> None:
    """Held while muted (other destinations not); out at the next flush after it."""
    clock = Clock(at(12))
    held, other = MemoryDestination("a"), MemoryDestination("b")
    pipeline, policy, _ = make(held, other, clock=clock)
    policy.set_muted_until("a", at(14))
    assert policy.muted_until("a") == at(14)
    summary = await pipeline.async_send(
        ["a", "b"], lambda _dest: Notification(message="hi")
    )
    assert [r.deferred for r in summary.results] == [True, False]
    assert held.received == [] and len(other.received) == 1
    assert await pipeline.async_flush_waiting(["a"]) == 0  # still muted
    clock.now = at(14, 1)
    assert policy.muted_until("a") is None
    assert await pipeline.async_flush_waiting(["a"]) == 1
    assert [n.message for n in held.received] == ["hi"]


async def test_unmute_and_respect_quiet_hours_false() -> None:
    """Unmuting lets the next flush deliver; a send that ignores quiet hours goes."""
    clock = Clock(at(12))
    dest = MemoryDestination("a")
    pipeline, policy, _ = make(dest, clock=clock)
    policy.set_muted_until("a", at(12) + timedelta(days=1))
    await pipeline.async_send(
        ["a"], lambda _d: Notification(message="urgent"), respect_quiet_hours=False
    )
    assert [n.message for n in dest.received] == ["urgent"]
    await pipeline.async_send(["a"], lambda _d: Notification(message="later"))
    policy.set_muted_until("a", None)
    assert await pipeline.async_flush_waiting(["a"]) == 1


def test_pending_item_keeps_buttons_and_reply_to() -> None:
    """A held notification keeps its buttons and reply_to through the Store."""
    notification = Notification(
        message="Garage open",
        buttons=((Button("Close", action="close"), Button("Cam", url="https://x.y")),),
        reply_to=7,
    )
    item = new_pending(PendingReason.DEFERRED, notification, DeliveryContext(), at(1))
    restored = PendingItem.from_dict(item.as_dict())
    assert restored.notification().buttons == notification.buttons
    assert restored.notification().reply_to == 7
