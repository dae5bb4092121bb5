"""Field names of the webhook source shared by its flows and its setup."""

from __future__ import annotations

from typing import Final

CONF_EVENT_TYPES: Final = "event_types"
