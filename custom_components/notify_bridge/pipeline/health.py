"""Counters and history of what the pipeline did, for diagnostics and sensors."""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass

from .limits import DISPATCH_HISTORY
from .models import DispatchStatus, DispatchSummary


@dataclass(slots=True)
class HealthCounters:
    """Totals since start. Owned by the event loop: only updated from its thread."""

    events_received: int = 0
    events_routed: int = 0
    dispatches: int = 0
    dispatches_ok: int = 0
    dispatches_partial: int = 0
    dispatches_failed: int = 0
    deliveries_ok: int = 0
    deliveries_failed: int = 0
    render_errors: int = 0

    def as_dict(self) -> dict[str, int]:
        """Return the counters as a plain mapping."""
        return asdict(self)


class DispatchHistory:
    """The last summaries, newest last, with the counters they add up to."""

    def __init__(self, size: int = DISPATCH_HISTORY) -> None:
        """Keep at most `size` summaries."""
        self.counters = HealthCounters()
        self._summaries: deque[DispatchSummary] = deque(maxlen=size)

    def record(self, summary: DispatchSummary) -> None:
        """Add one finished dispatch."""
        self._summaries.append(summary)
        counters = self.counters
        counters.dispatches += 1
        if summary.status in (DispatchStatus.OK, DispatchStatus.DEFERRED):
            counters.dispatches_ok += 1
        elif summary.status in (DispatchStatus.PARTIAL, DispatchStatus.QUEUED):
            counters.dispatches_partial += 1
        else:
            counters.dispatches_failed += 1
        counters.deliveries_ok += summary.delivered
        counters.deliveries_failed += summary.failed

    @property
    def summaries(self) -> list[DispatchSummary]:
        """Return the kept summaries, oldest first."""
        return list(self._summaries)
