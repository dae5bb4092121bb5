"""What counts as a deprecation caused by Notify Bridge (the suite fails on any).

Two channels: Python warnings (DeprecationWarning and friends, python-telegram-bot's
PTBDeprecationWarning) raised from this project's code or by a library on its behalf,
and Home Assistant's log lines ("deprecated", "will stop working", "Detected blocking
call") that name this integration.
"""

from __future__ import annotations

import logging
from pathlib import Path
import re
import warnings

from telegram.warnings import PTBDeprecationWarning

PROJECT = Path(__file__).resolve().parents[1]
OWN_CODE = (PROJECT / "custom_components", PROJECT / "tests", PROJECT / "benchmarks")
DEPRECATION_CATEGORIES = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)
# Home Assistant's report_usage / deprecation helpers / blocking-call detector.
HA_DEPRECATION_RE = re.compile(
    r"deprecat|will stop working|stops working|Detected blocking call", re.IGNORECASE
)
OURS_RE = re.compile(r"notify_bridge")


def own_deprecation(message: warnings.WarningMessage) -> bool:
    """Return whether a recorded warning is a deprecation this project caused."""
    if isinstance(message.message, PTBDeprecationWarning):
        # Only this project drives python-telegram-bot in the suite.
        return True
    if not issubclass(message.category, DEPRECATION_CATEGORIES):
        return False
    filename = Path(message.filename).resolve()
    return any(filename.is_relative_to(root) for root in OWN_CODE)


def own_deprecation_log(record: logging.LogRecord) -> bool:
    """Return whether Home Assistant logged a deprecation/blocking call about us."""
    text = record.getMessage()
    if not HA_DEPRECATION_RE.search(text):
        return False
    return bool(OURS_RE.search(text) or OURS_RE.search(record.name))
