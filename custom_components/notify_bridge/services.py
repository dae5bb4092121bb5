"""Actions: send, preview_template, refresh (and what they share)."""

from __future__ import annotations

from typing import Any, cast

from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv, entity_registry as er
from homeassistant.util.json import JsonValueType
import voluptuous as vol

from .catalog import KINDS
from .const import (
    ATTR_DISPATCH_ID,
    ATTR_STATUS,
    ATTR_SUMMARY,
    CONF_KIND,
    DOMAIN,
    SERVICE_DELETE,
    SERVICE_EDIT,
    SERVICE_FLUSH_DEFERRED,
    SERVICE_PREVIEW_TEMPLATE,
    SERVICE_SEND,
    SERVICE_SEND_DIGEST,
)
from .debug_window import async_setup_debug_window
from .kinds.shared.entities import raise_if_lost
from .kinds.shared.preview import async_render_samples
from .kinds.shared.refresh import async_poll_now, refresh_failed
from .pipeline.i18n import destination_language
from .pipeline.models import (
    Button,
    Destination,
    DispatchStatus,
    MediaItem,
    MediaType,
    Notification,
    OutputFormat,
)
from .pipeline.render import TemplateError
from .route_lookup import find_route
from .runtime import DATA_HUB, MediaField, NotifyBridgeConfigEntry, Poller

ATTR_MESSAGE = "message"
ATTR_TITLE = "title"
ATTR_MEDIA = "media"
ATTR_URL = "url"
ATTR_CONFIG_ENTRY_ID = "config_entry_id"
SERVICE_REFRESH = "refresh"
ATTR_TYPE = "type"
ATTR_DISABLE_NOTIFICATION = "disable_notification"
ATTR_MESSAGE_THREAD_ID = "message_thread_id"
ATTR_PARSE_MODE = "parse_mode"
ATTR_RESPECT_QUIET_HOURS = "respect_quiet_hours"
ATTR_DELIVERED = "delivered"
ATTR_TEMPLATE = "template"
ATTR_CONTEXT = "context"
ATTR_FORMAT = "format"
ATTR_ROUTE = "route"
ATTR_NOW = "now"
ATTR_SENT = "sent"
ATTR_SUMMARIES = "summaries"
ATTR_BUTTONS = "buttons"
ATTR_REPLY_TO = "reply_to"
ATTR_TEXT = "text"
ATTR_ACTION = "action"
ATTR_MESSAGE_IDS = "message_ids"
ATTR_RESULTS = "results"
# Telegram's limits: callback_data is 1-64 bytes, 100 buttons per keyboard.
MAX_ACTION_BYTES = 64
MAX_BUTTONS = 100

# Used by preview_template when no context is given, so a template can be tried at once.
SAMPLE_CONTEXT: dict[str, Any] = {
    "data": {"message": "Hello from Notify Bridge", "name": "Front door"},
    "origin": "LOCAL",
    "context": {"id": "01JSAMPLE", "user_id": None},
    "event": {
        "type": "notify_bridge_demo",
        "source": "ha_events",
        "occurred_at": "2025-01-01T12:00:00+00:00",
        "request_id": None,
    },
}


# Media fields kinds resolve (e.g. `immich_asset_id`), besides a plain URL.
MEDIA_FIELDS: dict[str, tuple[str, MediaField]] = {
    name: (kind_id, field)
    for kind_id, kind in KINDS.items()
    for name, field in kind.media_fields.items()
}
_MEDIA_FIELDS_SCHEMA: dict[vol.Marker, Any] = {
    vol.Exclusive(ATTR_URL, "media_source"): cv.url
}
for _name, (_kind, _field) in MEDIA_FIELDS.items():
    _MEDIA_FIELDS_SCHEMA[vol.Exclusive(_name, "media_source")] = _field.validate
_MEDIA_FIELDS_SCHEMA[vol.Optional(ATTR_TYPE, default=MediaType.PHOTO)] = vol.Coerce(
    MediaType
)
MEDIA_SCHEMA = vol.All(
    vol.Schema(_MEDIA_FIELDS_SCHEMA),
    cv.has_at_least_one_key(ATTR_URL, *MEDIA_FIELDS),
)

REFRESH_SCHEMA = vol.Schema(
    {vol.Optional(ATTR_CONFIG_ENTRY_ID): vol.All(cv.ensure_list, [cv.string])}
)


def _action_data(value: Any) -> str:
    text = cv.string(value)
    if not 1 <= len(text.encode()) <= MAX_ACTION_BYTES:
        raise vol.Invalid(f"action must be 1-{MAX_ACTION_BYTES} bytes")
    return text


BUTTON_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_TEXT): vol.All(cv.string, vol.Length(min=1, max=64)),
        vol.Exclusive(ATTR_URL, "button"): cv.url,
        vol.Exclusive(ATTR_ACTION, "button"): _action_data,
    }
)


def _button_rows(value: Any) -> list[list[dict[str, Any]]]:
    """Rows of buttons; a flat list of buttons is one row each."""
    rows = [row if isinstance(row, list) else [row] for row in cv.ensure_list(value)]
    checked = [[BUTTON_SCHEMA(button) for button in row] for row in rows]
    for row in checked:
        for button in row:
            if ATTR_URL not in button and ATTR_ACTION not in button:
                raise vol.Invalid("a button needs a url or an action")
    if sum(len(row) for row in checked) > MAX_BUTTONS:
        raise vol.Invalid(f"at most {MAX_BUTTONS} buttons")
    return checked


SEND_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_ENTITY_ID): cv.entity_ids,
        vol.Required(ATTR_MESSAGE): vol.All(cv.string, vol.Length(min=1)),
        vol.Optional(ATTR_TITLE): cv.string,
        vol.Optional(ATTR_MEDIA, default=list): vol.All(cv.ensure_list, [MEDIA_SCHEMA]),
        vol.Optional(ATTR_DISABLE_NOTIFICATION): cv.boolean,
        vol.Optional(ATTR_MESSAGE_THREAD_ID): vol.All(
            vol.Coerce(int), vol.Range(min=1)
        ),
        # Mode names are read in any case ("HTML", "html").
        vol.Optional(ATTR_PARSE_MODE): vol.All(
            cv.string, vol.Lower, vol.In([fmt.value for fmt in OutputFormat])
        ),
        vol.Optional(ATTR_RESPECT_QUIET_HOURS, default=True): cv.boolean,
        vol.Optional(ATTR_BUTTONS): _button_rows,
        vol.Optional(ATTR_REPLY_TO): vol.All(vol.Coerce(int), vol.Range(min=1)),
    }
)

SEND_DIGEST_SCHEMA = vol.Schema(
    {
        # A route's subentry id, or the entity id of one of its entities.
        vol.Required(ATTR_ROUTE): cv.string,
        vol.Optional(ATTR_NOW, default=False): cv.boolean,
    }
)
EDIT_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_DISPATCH_ID): cv.string,
        vol.Required(ATTR_MESSAGE): vol.All(cv.string, vol.Length(min=1)),
        vol.Optional(ATTR_TITLE): cv.string,
    }
)
DELETE_SCHEMA = vol.Schema({vol.Required(ATTR_DISPATCH_ID): cv.string})

FLUSH_SCHEMA = vol.Schema({vol.Optional(ATTR_ENTITY_ID): cv.entity_ids})

PREVIEW_SCHEMA = vol.All(
    vol.Schema(
        {
            vol.Optional(ATTR_TEMPLATE): cv.string,
            # A stored route (its event entity or subentry id): its own templates
            # (or `template`) render against a sample event of its kind, so nothing
            # in the call needs `{% raw %}` to get past Home Assistant's templating.
            vol.Exclusive(ATTR_ROUTE, "sample"): cv.string,
            vol.Exclusive(ATTR_CONTEXT, "sample"): dict,
            vol.Exclusive(ATTR_ENTITY_ID, "format"): cv.entity_id,
            vol.Exclusive(ATTR_FORMAT, "format"): vol.Coerce(OutputFormat),
        }
    ),
    cv.has_at_least_one_key(ATTR_TEMPLATE, ATTR_ROUTE),
)


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the integration's actions."""
    hass.services.async_register(
        DOMAIN,
        SERVICE_SEND,
        _async_send,
        schema=SEND_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_REFRESH,
        _async_refresh,
        schema=REFRESH_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    for service, schema in (
        (SERVICE_EDIT, EDIT_SCHEMA),
        (SERVICE_DELETE, DELETE_SCHEMA),
    ):
        hass.services.async_register(
            DOMAIN,
            service,
            _async_message_action,
            schema=schema,
            supports_response=SupportsResponse.OPTIONAL,
        )
    hass.services.async_register(
        DOMAIN,
        SERVICE_FLUSH_DEFERRED,
        _async_flush_deferred,
        schema=FLUSH_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_SEND_DIGEST,
        _async_send_digest,
        schema=SEND_DIGEST_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_PREVIEW_TEMPLATE,
        _async_preview_template,
        schema=PREVIEW_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
    async_setup_debug_window(hass, hass.data[DATA_HUB].debug_window)


def _require_destinations(
    hass: HomeAssistant, entity_ids: list[str]
) -> list[Destination]:
    """Return the destinations, refusing ids that are not our loaded notify entities."""
    hub = hass.data[DATA_HUB]
    found: list[Destination] = []
    unknown: list[str] = []
    for entity_id in entity_ids:
        destination = (
            hub.resolve_destination(entity_id)
            if hub.is_destination_entity(entity_id)
            else None
        )
        if destination is None:
            unknown.append(entity_id)
        else:
            found.append(destination)
    if unknown:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="not_a_destination",
            translation_placeholders={"entity_ids": ", ".join(unknown)},
        )
    return found


async def _async_send(call: ServiceCall) -> ServiceResponse:
    """Send a message to destinations; respond with the dispatch summary."""
    hass = call.hass
    entity_ids: list[str] = call.data[ATTR_ENTITY_ID]
    _require_destinations(hass, entity_ids)
    media = await _async_media(hass, call.data[ATTR_MEDIA])
    buttons = tuple(
        tuple(
            Button(b[ATTR_TEXT], url=b.get(ATTR_URL), action=b.get(ATTR_ACTION))
            for b in row
        )
        for row in call.data.get(ATTR_BUTTONS) or ()
    )

    def build(dest: Destination) -> Notification:
        return Notification(
            message=call.data[ATTR_MESSAGE],
            title=call.data.get(ATTR_TITLE),
            media=media,
            # The message is written as parse_mode says; without one it is plain
            # text, never markup of the destination's format.
            output_format=(
                dest.output_format
                if call.data.get(ATTR_PARSE_MODE)
                else OutputFormat.PLAIN
            ),
            disable_notification=call.data.get(ATTR_DISABLE_NOTIFICATION),
            message_thread_id=call.data.get(ATTR_MESSAGE_THREAD_ID),
            parse_mode=call.data.get(ATTR_PARSE_MODE),
            buttons=buttons,
            reply_to=call.data.get(ATTR_REPLY_TO),
        )

    summary = await hass.data[DATA_HUB].pipeline.async_send(
        entity_ids, build, respect_quiet_hours=call.data[ATTR_RESPECT_QUIET_HOURS]
    )
    if summary.status is DispatchStatus.FAIL and not call.return_response:
        raise_if_lost(summary)
    return {
        ATTR_DISPATCH_ID: summary.dispatch_id,
        ATTR_STATUS: summary.status.value,
        ATTR_SUMMARY: summary.as_dict(),
        ATTR_MESSAGE_IDS: {
            result.destination_id: list(result.message_ids)
            for result in summary.results
        },
    }


async def _async_message_action(call: ServiceCall) -> ServiceResponse:
    """Edit (new text) or delete every message a dispatch sent, across its chats."""
    hass = call.hass
    dispatch_id: str = call.data[ATTR_DISPATCH_ID]
    sent = hass.data[DATA_HUB].sent_messages(dispatch_id)
    if sent is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="unknown_dispatch",
            translation_placeholders={"dispatch_id": dispatch_id},
        )
    new_text = None
    if call.service == SERVICE_EDIT:
        title = call.data.get(ATTR_TITLE)
        message = call.data[ATTR_MESSAGE]
        new_text = f"{title}\n{message}" if title else message
    results: list[dict[str, Any]] = []
    for entry in hass.config_entries.async_loaded_entries(DOMAIN):
        action = KINDS[entry.data[CONF_KIND]].message_action
        mine = {d: ids for d, ids in sent.items() if d in _destination_ids(entry)}
        if action is not None and mine:
            results.extend(await action(entry, mine, new_text))
    failed = [r for r in results if not r["success"]]
    status = _action_status(len(results), len(failed))
    if failed and not call.return_response:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="message_action_failed",
            translation_placeholders={
                "dispatch_id": dispatch_id,
                "errors": "; ".join(str(r["error"]) for r in failed),
            },
        )
    return {
        ATTR_DISPATCH_ID: dispatch_id,
        ATTR_STATUS: status.value,
        ATTR_RESULTS: cast(list[JsonValueType], results),
    }


def _destination_ids(entry: NotifyBridgeConfigEntry) -> set[str]:
    return set(getattr(entry.runtime_data, "destinations", {}))


def _action_status(total: int, failed: int) -> DispatchStatus:
    if not failed:
        return DispatchStatus.OK
    return DispatchStatus.FAIL if failed == total else DispatchStatus.PARTIAL


def _loaded_entries(hass: HomeAssistant, kind_id: str) -> list[NotifyBridgeConfigEntry]:
    """Return the loaded entries of one kind (the config entries API knows them)."""
    return [
        entry
        for entry in hass.config_entries.async_loaded_entries(DOMAIN)
        if entry.data[CONF_KIND] == kind_id
    ]


async def _async_media(
    hass: HomeAssistant, items: list[dict[str, Any]]
) -> tuple[MediaItem, ...]:
    """Return the media of a `send` call; a kind's field is fetched by that kind."""
    media: list[MediaItem] = []
    for item in items:
        name = next((name for name in MEDIA_FIELDS if name in item), None)
        if name is None:
            media.append(MediaItem(type=item[ATTR_TYPE], url=item[ATTR_URL]))
            continue
        kind_id, field = MEDIA_FIELDS[name]
        entries = _loaded_entries(hass, kind_id)
        media.append(await field.fetch(hass, entries, item[name], item[ATTR_TYPE]))
    return tuple(media)


def _pollers(hass: HomeAssistant) -> dict[str, Poller]:
    """Return the poller of every loaded entry that polls, by entry id."""
    pollers: dict[str, Poller] = {}
    for entry in hass.config_entries.async_loaded_entries(DOMAIN):
        find = KINDS[entry.data[CONF_KIND]].poller
        if find is not None and (poller := find(entry)) is not None:
            pollers[entry.entry_id] = poller
    return pollers


async def _async_refresh(call: ServiceCall) -> ServiceResponse:
    """Poll the selected polling sources (all of them when none is selected) now;
    respond with what each poll found and what waits for a coalescing window."""
    hass = call.hass
    coordinators = _pollers(hass)
    entry_ids: list[str] = call.data.get(ATTR_CONFIG_ENTRY_ID) or list(coordinators)
    unknown = [entry_id for entry_id in entry_ids if entry_id not in coordinators]
    if unknown:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="not_a_polled_source",
            translation_placeholders={"entry_ids": ", ".join(unknown)},
        )
    found: dict[str, Any] = {}
    for entry_id in entry_ids:
        found[entry_id] = await async_poll_now(hass, coordinators[entry_id])
    failed = [report for report in found.values() if report["error"] is not None]
    if failed and not call.return_response:
        raise refresh_failed(failed)
    held = hass.data[DATA_HUB].pipeline.coalescer.held
    return {"sources": found, "held_for_coalescing": held}


async def _async_flush_deferred(call: ServiceCall) -> ServiceResponse:
    """Deliver now what quiet hours or an outage held back (all, or some destinations)."""
    hass = call.hass
    destination_ids = None
    if ATTR_ENTITY_ID in call.data:
        destination_ids = [
            dest.destination_id
            for dest in _require_destinations(hass, call.data[ATTR_ENTITY_ID])
        ]
    delivered = await hass.data[DATA_HUB].pipeline.async_flush_waiting(
        destination_ids, force=True
    )
    return {ATTR_DELIVERED: delivered}


def _scheduled_route(hass: HomeAssistant, route: str) -> str:
    """Return the subentry id of a scheduled route named by its id or an entity."""
    digests = hass.data[DATA_HUB].digests
    if digests.scheduled(route):
        return route
    entity = er.async_get(hass).async_get(route)
    if (
        entity is not None
        and entity.platform == DOMAIN
        and entity.config_subentry_id is not None
        and digests.scheduled(entity.config_subentry_id)
    ):
        return entity.config_subentry_id
    raise ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="not_a_scheduled_route",
        translation_placeholders={"route": route},
    )


async def _async_send_digest(call: ServiceCall) -> ServiceResponse:
    """Send a scheduled route's digest now; `now` also during quiet hours."""
    hass = call.hass
    route_id = _scheduled_route(hass, call.data[ATTR_ROUTE])
    summaries = await hass.data[DATA_HUB].digests.async_send_now(
        route_id, respect_quiet_hours=not call.data[ATTR_NOW]
    )
    if not call.return_response:
        for summary in summaries:
            raise_if_lost(summary)
    return {
        ATTR_SENT: len(summaries),
        ATTR_SUMMARIES: [summary.as_dict() for summary in summaries],
    }


async def _async_preview_template(call: ServiceCall) -> ServiceResponse:
    """Render a template exactly as delivery to the given format would."""
    hass = call.hass
    hub = hass.data[DATA_HUB]
    output_format = call.data.get(ATTR_FORMAT, OutputFormat.PLAIN)
    language = hub.pipeline.default_language
    if entity_id := call.data.get(ATTR_ENTITY_ID):
        destination = _require_destinations(hass, [entity_id])[0]
        output_format = destination.output_format
        language = destination_language(destination, language)
    if ATTR_ROUTE in call.data:
        return await _async_preview_route(call, output_format)
    # As delivery renders it: in the reader's language, unless the context says.
    context = {"language": language, **call.data.get(ATTR_CONTEXT, SAMPLE_CONTEXT)}
    try:
        text = await hub.pipeline.async_preview(
            call.data[ATTR_TEMPLATE], context, output_format
        )
    except TemplateError as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_template",
            translation_placeholders={"error": str(err)},
        ) from err
    return {"text": text, ATTR_FORMAT: output_format.value}


async def _async_preview_route(
    call: ServiceCall, output_format: OutputFormat
) -> ServiceResponse:
    """Render a stored route's templates against a sample event of its kind."""
    entry, subentry, preview = find_route(call.hass, call.data[ATTR_ROUTE])
    samples = await async_render_samples(
        call.hass.data[DATA_HUB],
        preview,
        entry.entry_id,
        subentry,
        output_format=output_format,
        template=call.data.get(ATTR_TEMPLATE),
    )
    if failed := next((sample for sample in samples if sample.error), None):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_template",
            translation_placeholders={"error": failed.error or ""},
        )
    return {
        "route": subentry.title,
        ATTR_FORMAT: output_format.value,
        # The first sample's text, as a template-only call answers.
        "text": samples[0].text if samples else "",
        "samples": [sample.as_dict() for sample in samples],
    }
