"""The suite's deprecation check flags what this project causes, and only that."""

from __future__ import annotations

import logging
from pathlib import Path
import warnings

from telegram.warnings import PTBDeprecationWarning

from .deprecations import own_deprecation, own_deprecation_log


def _warning(category: type[Warning], filename: str) -> warnings.WarningMessage:
    if issubclass(category, PTBDeprecationWarning):
        message: Warning = category("22.2", "old")
    else:
        message = category("old")
    return warnings.WarningMessage(message, category, filename, 1)


def _record(name: str, message: str) -> logging.LogRecord:
    return logging.LogRecord(name, logging.WARNING, __file__, 1, message, (), None)


def test_warnings_from_our_code_count() -> None:
    """Ours and PTB's deprecations count; other libraries' own warnings do not."""
    ours = str(
        Path(__file__).parents[1] / "custom_components" / "notify_bridge" / "x.py"
    )
    assert own_deprecation(_warning(DeprecationWarning, ours))
    assert own_deprecation(
        _warning(PTBDeprecationWarning, "/site-packages/telegram/e.py")
    )
    assert not own_deprecation(_warning(DeprecationWarning, "/site-packages/lib/a.py"))
    assert not own_deprecation(_warning(UserWarning, ours))


def test_home_assistant_log_lines_about_us_count() -> None:
    """HA's report_usage and blocking-call lines naming notify_bridge fail the test."""
    assert own_deprecation_log(
        _record(
            "homeassistant.helpers.frame",
            "Detected that custom integration 'notify_bridge' has an update listener"
            " and should use it for scheduling a reload. This will stop working in"
            " Home Assistant 2026.12.0",
        )
    )
    assert own_deprecation_log(
        _record(
            "homeassistant.util.loop",
            "Detected blocking call to load_verify_locations inside the event loop by"
            " custom integration 'notify_bridge'",
        )
    )
    assert not own_deprecation_log(
        _record("homeassistant.helpers.frame", "integration 'other' is deprecated")
    )
    assert not own_deprecation_log(
        _record("custom_components.notify_bridge.hub", "Delivered to Ann")
    )
