"""Loggers that tag every line of a dispatch with its dispatch id."""

from __future__ import annotations

from collections.abc import MutableMapping
from contextvars import ContextVar
import logging
from typing import Any

# Set by the dispatcher; asyncio tasks copy it, so every delivery of one dispatch
# (and everything a target logs while delivering) carries the same id.
current_dispatch_id: ContextVar[str | None] = ContextVar(
    "notify_bridge_dispatch_id", default=None
)


class DispatchLogger(logging.LoggerAdapter[logging.Logger]):
    """Prefix each message with `[dispatch <id>]` while a dispatch is running."""

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        dispatch_id = current_dispatch_id.get()
        if dispatch_id is None:
            return msg, kwargs
        return f"[dispatch {dispatch_id}] {msg}", kwargs


def get_logger(name: str) -> DispatchLogger:
    """Return the dispatch-aware logger for a module."""
    return DispatchLogger(logging.getLogger(name))
