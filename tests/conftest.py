"""Shared fixtures."""

from __future__ import annotations

import pytest

# Imported at module level, before Home Assistant mounts its test config dir, or HA
# reports "Integration not found".
import custom_components.notify_bridge  # noqa: F401


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/ in every test."""
