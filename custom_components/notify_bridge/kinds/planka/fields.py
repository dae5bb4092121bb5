"""Field names of the Planka source shared by its flows and its setup."""

from __future__ import annotations

from typing import Final

CONF_ACCESS_TOKEN: Final = "access_token"  # noqa: S105 - a field name
CONF_BOARDS: Final = "boards"
