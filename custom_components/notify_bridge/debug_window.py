"""The `notify_bridge.debug` action: DEBUG logging for one area, for a bounded time.

A window turns the loggers of an area (a kind, the pipeline, or everything) to DEBUG
and turns them back by itself when it ends: at its end time, when the last entry
unloads, or when Home Assistant stops. Starting it again sets a new end time and may
add an area; it never stacks: each logger's own level is saved the first time the
window touches it and restored exactly once. A repair notice says it is on, for what
and until when, and goes away with it.

Secrets stay masked at DEBUG as at any level: redaction.py rewrites every log record
where it is born, whichever logger writes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
import logging
from typing import Final

from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import (
    CALLBACK_TYPE,
    Event,
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv, issue_registry as ir
from homeassistant.helpers.event import async_call_later
from homeassistant.util import dt as dt_util
import voluptuous as vol

from .const import DOMAIN
from .runtime import DebugSwitch

SERVICE_DEBUG: Final = "debug"
ATTR_DURATION: Final = "duration"
ATTR_AREA: Final = "area"
ISSUE_DEBUG_WINDOW: Final = "debug_window"
DEFAULT_DURATION: Final = timedelta(minutes=15)
MAX_DURATION: Final = timedelta(hours=2)
AREA_ALL: Final = "all"

_PACKAGE: Final = __name__.rpartition(".")[0]
# The one table of areas: the loggers each turns to DEBUG. Names starting with "."
# are modules of this package; others are libraries whose requests an area makes.
AREA_LOGGERS: Final[Mapping[str, tuple[str, ...]]] = {
    AREA_ALL: ("",),
    "pipeline": (".pipeline",),
    "telegram": (".targets.telegram", ".kinds.telegram", "telegram"),
    "email": (".targets.email", ".kinds.email", "aiosmtplib"),
    "home_assistant": (".kinds.home_assistant",),
    "immich": (".sources.immich", ".kinds.immich"),
    "gitea": (
        ".sources.gitea",
        ".sources.gitea_client",
        ".sources.gitea_texts",
        ".kinds.gitea",
    ),
    "planka": (".sources.planka", ".kinds.planka"),
    "webhook": (
        ".sources.generic_webhook",
        ".sources.ingress",
        ".sources.ingress_auth",
        ".sources.ingress_common",
        ".sources.ingress_payload",
        ".sources.replay",
        ".kinds.webhook",
        ".kinds.shared.webhook_source",
    ),
    "ha_events": (".kinds.ha_events",),
}

DEBUG_SCHEMA = vol.Schema(
    {
        vol.Optional(ATTR_DURATION, default=DEFAULT_DURATION): cv.time_period,
        vol.Optional(ATTR_AREA, default=AREA_ALL): cv.string,
    }
)


def area_loggers(area: str) -> tuple[str, ...]:
    """Return the logger names of an area (KeyError when there is no such area)."""
    return tuple(
        f"{_PACKAGE}{name}" if not name or name.startswith(".") else name
        for name in AREA_LOGGERS[area]
    )


@dataclass
class DebugWindow:
    """The one debug window of the integration (kept by the hub)."""

    hass: HomeAssistant
    # Logger name → its level before the window (NOTSET included), restored once.
    saved: dict[str, int] = field(default_factory=dict)
    areas: list[str] = field(default_factory=list)
    until: datetime | None = None
    _cancel_timer: CALLBACK_TYPE | None = field(default=None, repr=False)

    @property
    def active(self) -> bool:
        """Return whether DEBUG is on."""
        return self.until is not None

    @callback
    def start(self, area: str, duration: timedelta) -> datetime:
        """Turn an area to DEBUG until now + duration (a new end, never a second
        window); returns the end time."""
        for name in area_loggers(area):
            logger = logging.getLogger(name)
            self.saved.setdefault(name, logger.level)
            logger.setLevel(logging.DEBUG)
        if area not in self.areas:
            self.areas.append(area)
        if self._cancel_timer is not None:
            self._cancel_timer()
        self.until = dt_util.utcnow() + duration
        self._cancel_timer = async_call_later(self.hass, duration, self._expired)
        self._show_notice()
        logging.getLogger(__name__).warning(
            "Debug logging on for %s until %s", ", ".join(self.areas), self.until
        )
        return self.until

    @callback
    def stop(self) -> None:
        """Restore every logger's own level and remove the notice (idempotent)."""
        if self._cancel_timer is not None:
            self._cancel_timer()
            self._cancel_timer = None
        if not self.active:
            return
        for name, level in self.saved.items():
            logging.getLogger(name).setLevel(level)
        logging.getLogger(__name__).warning(
            "Debug logging off for %s", ", ".join(self.areas)
        )
        self.saved.clear()
        self.areas.clear()
        self.until = None
        ir.async_delete_issue(self.hass, DOMAIN, ISSUE_DEBUG_WINDOW)

    @callback
    def _expired(self, _now: datetime) -> None:
        self._cancel_timer = None
        self.stop()

    def _show_notice(self) -> None:
        until = dt_util.as_local(self.until or dt_util.utcnow())
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            ISSUE_DEBUG_WINDOW,
            is_fixable=False,
            is_persistent=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE_DEBUG_WINDOW,
            translation_placeholders={
                "areas": ", ".join(self.areas),
                "until": until.strftime("%Y-%m-%d %H:%M:%S"),
            },
        )


def validate_request(area: str, duration: timedelta) -> None:
    """Raise a translated error for an unknown area or a duration out of range."""
    if area not in AREA_LOGGERS:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="debug_invalid_area",
            translation_placeholders={
                "area": area,
                "areas": ", ".join(AREA_LOGGERS),
            },
        )
    if not timedelta(0) < duration <= MAX_DURATION:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="debug_invalid_duration",
            translation_placeholders={
                "duration": str(duration),
                "max": str(MAX_DURATION),
            },
        )


@callback
def async_setup_debug_window(hass: HomeAssistant, window: DebugSwitch) -> None:
    """Register the action; the window ends by itself when Home Assistant stops."""

    async def handle(call: ServiceCall) -> ServiceResponse:
        area: str = call.data[ATTR_AREA]
        duration: timedelta = call.data[ATTR_DURATION]
        validate_request(area, duration)
        until = window.start(area, duration)
        return {"areas": list(window.areas), "until": until.isoformat()}

    @callback
    def on_stop(_event: Event) -> None:
        window.stop()

    hass.services.async_register(
        DOMAIN,
        SERVICE_DEBUG,
        handle,
        schema=DEBUG_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, on_stop)


__all__ = [
    "AREA_LOGGERS",
    "DEFAULT_DURATION",
    "MAX_DURATION",
    "DebugWindow",
    "area_loggers",
    "async_setup_debug_window",
]
