"""Shared pieces of the config and subentry flows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    SubentryFlowResult,
)
from homeassistant.const import CONF_NAME
from homeassistant.data_entry_flow import section
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    TextSelector,
    TimeSelector,
)
import voluptuous as vol

from ...const import (
    CONF_COALESCE_SECONDS,
    CONF_DIGEST,
    CONF_KIND,
    CONF_LANGUAGE,
    CONF_MAX_PENDING,
    CONF_QUIET_END,
    CONF_QUIET_MODE,
    CONF_QUIET_START,
    CONF_QUIET_WEEKDAYS,
    LANGUAGE_HA,
    WEEKDAYS,
)
from ...pipeline.digest import (
    CONF_DIGEST_MEDIA,
    CONF_DIGEST_MODE,
    CONF_SCHEDULE,
    CONF_SEND_EMPTY,
    DEFAULT_DIGEST_MEDIA,
    MAX_DIGEST_MEDIA,
    DigestMode,
)
from ...pipeline.i18n import SUPPORTED_LANGUAGES, resolve_language
from ...pipeline.limits import MAX_PENDING_PER_DESTINATION
from ...pipeline.policy import QuietMode
from ...pipeline.schedule import (
    MAX_INTERVAL_HOURS,
    MIN_INTERVAL_HOURS,
    Schedule,
    ScheduleKind,
)
from .preview import (
    CONF_PREVIEW_ONLY,
    RoutePreviewFlow,
    with_preview_field,
)

# The collapsed form section of a route's schedule, and its fields (the stored form
# is `CONF_SCHEDULE` = `Schedule.to_dict()` and the digest keys beside it).
SCHEDULE_SECTION = "digest_schedule"
CONF_SCHEDULE_KIND = "schedule_kind"
CONF_SCHEDULE_AT = "schedule_at"
CONF_SCHEDULE_WEEKDAYS = "schedule_weekdays"
CONF_SCHEDULE_HOURS = "schedule_hours"
SCHEDULE_OFF = "off"
DEFAULT_SCHEDULE_AT = "08:00"
DEFAULT_SCHEDULE_HOURS = 24
_DIGEST_KEYS = (CONF_SCHEDULE, CONF_DIGEST_MODE, CONF_DIGEST_MEDIA, CONF_SEND_EMPTY)
# What a schedule the section cannot make says, at the field to fix.
_SCHEDULE_ERRORS = {
    CONF_SCHEDULE_AT: "invalid_schedule_at",
    CONF_SCHEDULE_WEEKDAYS: "no_schedule_weekdays",
    CONF_SCHEDULE_HOURS: "invalid_schedule_hours",
}


def async_update_and_finish(
    flow: ConfigFlow, entry: ConfigEntry, **changes: Any
) -> ConfigFlowResult:
    """Store a reauth/reconfigure result and abort; the entry reloads exactly once.

    A loaded entry reloads through its update listener (which every set-up entry
    has, for subentry changes). An entry whose setup failed has no listener, so the
    flow reloads it itself: never both, which Home Assistant 2026.12 refuses.
    """
    if entry.update_listeners:
        return flow.async_update_and_abort(entry, **changes)
    return flow.async_update_reload_and_abort(entry, **changes)


# The collapsed form section of a destination's quiet hours, and its fields
# (stored flat beside the destination's other options).
QUIET_SECTION = "quiet_hours"
QUIET_FIELDS = (
    CONF_QUIET_START,
    CONF_QUIET_END,
    CONF_QUIET_MODE,
    CONF_QUIET_WEEKDAYS,
    CONF_MAX_PENDING,
)


def weekdays_selector() -> SelectSelector:
    """Return the pick-some-weekdays field (quiet hours, weekly digests)."""
    return SelectSelector(
        SelectSelectorConfig(
            options=list(WEEKDAYS), multiple=True, translation_key=CONF_QUIET_WEEKDAYS
        )
    )


def quiet_hours_fields() -> dict[vol.Marker, Any]:
    """The collapsed "Quiet hours" section every destination flow offers."""
    fields: dict[vol.Marker, Any] = {
        vol.Optional(CONF_QUIET_START): TimeSelector(),
        vol.Optional(CONF_QUIET_END): TimeSelector(),
        vol.Optional(CONF_QUIET_MODE, default=QuietMode.DEFER.value): SelectSelector(
            SelectSelectorConfig(
                options=[mode.value for mode in QuietMode],
                translation_key=CONF_QUIET_MODE,
            )
        ),
        vol.Optional(CONF_QUIET_WEEKDAYS): weekdays_selector(),
        vol.Optional(
            CONF_MAX_PENDING, default=MAX_PENDING_PER_DESTINATION
        ): NumberSelector(
            NumberSelectorConfig(min=10, max=10000, step=1, mode=NumberSelectorMode.BOX)
        ),
    }
    return {vol.Optional(QUIET_SECTION): collapsed_section(fields)}


def quiet_hours_form_values(data: Mapping[str, Any]) -> dict[str, Any]:
    """Return stored destination data as its edit form shows it (the quiet-hours
    fields inside their section)."""
    return nest_sections(data, {QUIET_SECTION: QUIET_FIELDS})


def language_field() -> dict[vol.Marker, Any]:
    """The form field every destination flow offers: its readers' language.

    Home Assistant's language (the default, never stored), or one the bridge has
    texts and default templates in; the labels are translated (selector.language).
    """
    return {
        vol.Optional(CONF_LANGUAGE, default=LANGUAGE_HA): SelectSelector(
            SelectSelectorConfig(
                options=[LANGUAGE_HA, *SUPPORTED_LANGUAGES],
                translation_key=CONF_LANGUAGE,
            )
        )
    }


def language_defaults(data: Mapping[str, Any]) -> dict[str, Any]:
    """Return stored destination data as the language field shows it: a stored tag
    ("ru-RU", from an older form) as its supported language, none as HA's."""
    stored = data.get(CONF_LANGUAGE)
    language = resolve_language(stored) if stored else LANGUAGE_HA
    return {**data, CONF_LANGUAGE: language}


def clean_language(user_input: dict[str, Any]) -> None:
    """Store a destination's language only when it is not Home Assistant's."""
    if user_input.get(CONF_LANGUAGE) in (None, "", LANGUAGE_HA):
        user_input.pop(CONF_LANGUAGE, None)


def validate_quiet_hours(user_input: dict[str, Any]) -> dict[str, str]:
    """Return form errors for quiet hours: both ends or neither, and not equal.

    Moves the section's fields to the top level (the stored shape) and stores only
    what applies: no quiet-hours keys without a window, no max_pending equal to
    the default.
    """
    values = user_input.pop(QUIET_SECTION, None)
    if isinstance(values, Mapping):
        user_input.update(values)
    if user_input.get(CONF_MAX_PENDING) in (None, MAX_PENDING_PER_DESTINATION):
        user_input.pop(CONF_MAX_PENDING, None)
    start, end = user_input.get(CONF_QUIET_START), user_input.get(CONF_QUIET_END)
    if not start and not end:
        for key in (CONF_QUIET_START, CONF_QUIET_END, CONF_QUIET_MODE):
            user_input.pop(key, None)
        user_input.pop(CONF_QUIET_WEEKDAYS, None)
        return {}
    if not start or not end:
        return {CONF_QUIET_END if start else CONF_QUIET_START: "quiet_hours_incomplete"}
    if start == end:
        return {CONF_QUIET_END: "quiet_hours_empty"}
    return {}


def route_policy_fields(default_coalesce: int = 0) -> dict[vol.Marker, Any]:
    """Form fields every route flow offers: coalescing and digests."""
    return {**coalesce_fields(default_coalesce), **schedule_section_field()}


def coalesce_fields(default_coalesce: int = 0) -> dict[vol.Marker, Any]:
    """The coalescing window and whether held-back notifications become a digest
    (fields a form may also put in a section of its own)."""
    return {
        vol.Optional(CONF_COALESCE_SECONDS, default=default_coalesce): NumberSelector(
            NumberSelectorConfig(
                min=0,
                max=3600,
                step=1,
                mode=NumberSelectorMode.BOX,
                unit_of_measurement="s",
            )
        ),
        vol.Optional(CONF_DIGEST, default=True): BooleanSelector(),
    }


def schedule_section_field() -> dict[vol.Marker, Any]:
    """The collapsed schedule section (a section cannot hold another one, so it
    stays a top-level part of the form)."""
    return {
        vol.Optional(SCHEDULE_SECTION): section(schedule_schema(), {"collapsed": True})
    }


def collapsed_section(fields: Mapping[vol.Marker, Any]) -> section:
    """Return a collapsed form section of `fields`.

    Declare it `vol.Optional(name)` without a default: the frontend fills a section
    in from its fields' defaults only when the section itself has none (with
    `default=dict` it sends `{}` and refuses the form: "Not all required fields are
    filled in"). A caller that leaves it out gets the defaults from
    `flatten_sections`.
    """
    return section(vol.Schema(dict(fields)), {"collapsed": True})


def visible_errors(schema: vol.Schema, errors: Mapping[str, str]) -> dict[str, str]:
    """Return form errors the frontend can show: it shows an error at a top-level
    field or at the top of the form (`base`), never at a field inside a section, so
    a section's error becomes the form's (its text names the section)."""
    top = {str(key) for key in schema.schema}
    shown: dict[str, str] = {}
    for field, error in errors.items():
        if field in top or field == "base":
            shown[field] = error
        else:
            shown.setdefault("base", error)
    return shown


def flatten_sections(
    user_input: dict[str, Any], schema: vol.Schema, names: Iterable[str]
) -> None:
    """Move the fields of the named sections to the top level (the stored shape);
    a section not sent gives its fields' defaults."""
    sections = {str(key): value for key, value in schema.schema.items()}
    for name in names:
        values = user_input.pop(name, None)
        if not isinstance(values, Mapping):
            values = sections[name]({})
        user_input.update(values)


def nest_sections(
    data: Mapping[str, Any], sections: Mapping[str, Iterable[str]]
) -> dict[str, Any]:
    """Return stored data as a form with sections shows it (each section's fields
    inside it, the rest where they are)."""
    shown = dict(data)
    for name, fields in sections.items():
        inside = shown.get(name)
        nested = dict(inside) if isinstance(inside, Mapping) else {}
        nested.update({key: shown.pop(key) for key in fields if key in shown})
        if nested:
            shown[name] = nested
    return shown


def schedule_schema() -> vol.Schema:
    """Return the fields of a route's schedule: when, and what the digest holds."""
    return vol.Schema(
        {
            vol.Required(CONF_SCHEDULE_KIND, default=SCHEDULE_OFF): SelectSelector(
                SelectSelectorConfig(
                    options=[SCHEDULE_OFF, *(kind.value for kind in ScheduleKind)],
                    translation_key=CONF_SCHEDULE_KIND,
                )
            ),
            vol.Optional(CONF_SCHEDULE_AT, default=DEFAULT_SCHEDULE_AT): TimeSelector(),
            vol.Optional(CONF_SCHEDULE_WEEKDAYS, default=list): weekdays_selector(),
            vol.Optional(
                CONF_SCHEDULE_HOURS, default=DEFAULT_SCHEDULE_HOURS
            ): NumberSelector(
                NumberSelectorConfig(
                    min=MIN_INTERVAL_HOURS,
                    max=MAX_INTERVAL_HOURS,
                    step=1,
                    mode=NumberSelectorMode.BOX,
                    unit_of_measurement="h",
                )
            ),
            vol.Optional(
                CONF_DIGEST_MODE, default=DigestMode.INSTEAD.value
            ): SelectSelector(
                SelectSelectorConfig(
                    options=[mode.value for mode in DigestMode],
                    translation_key=CONF_DIGEST_MODE,
                )
            ),
            vol.Optional(CONF_DIGEST_MEDIA, default=DEFAULT_DIGEST_MEDIA): (
                NumberSelector(
                    NumberSelectorConfig(
                        min=0, max=MAX_DIGEST_MEDIA, step=1, mode=NumberSelectorMode.BOX
                    )
                )
            ),
            vol.Optional(CONF_SEND_EMPTY, default=False): BooleanSelector(),
        }
    )


def _stored_schedule(values: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """Return the stored form of the section's schedule, and the field a
    malformed one is reported at."""
    kind = values.get(CONF_SCHEDULE_KIND)
    if kind == ScheduleKind.INTERVAL:
        return {"kind": kind, "hours": _as_int(values.get(CONF_SCHEDULE_HOURS))}, (
            CONF_SCHEDULE_HOURS
        )
    stored: dict[str, Any] = {"kind": kind, "at": str(values.get(CONF_SCHEDULE_AT))[:5]}
    if kind != ScheduleKind.WEEKLY:
        return stored, CONF_SCHEDULE_AT
    days = values.get(CONF_SCHEDULE_WEEKDAYS) or []
    stored["weekdays"] = sorted({WEEKDAYS.index(d) for d in days if d in WEEKDAYS})
    return stored, CONF_SCHEDULE_WEEKDAYS if not days else CONF_SCHEDULE_AT


def _as_int(value: Any) -> int | None:
    """Return a whole number typed in a number field (which gives floats)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def validate_schedule(user_input: dict[str, Any]) -> dict[str, str]:
    """Turn the schedule section into the stored route options; return errors.

    Call it last in a route's validation: on success the section is replaced by the
    stored keys (none when the schedule is off); on an error it stays as typed.
    """
    values = user_input.get(SCHEDULE_SECTION) or {}
    if values.get(CONF_SCHEDULE_KIND, SCHEDULE_OFF) == SCHEDULE_OFF:
        stored: dict[str, Any] = {}
    else:
        schedule, field = _stored_schedule(values)
        try:
            Schedule.from_dict(schedule)
        except ValueError:
            return {field: _SCHEDULE_ERRORS[field]}
        media = _as_int(values.get(CONF_DIGEST_MEDIA, DEFAULT_DIGEST_MEDIA))
        if media is None or not 0 <= media <= MAX_DIGEST_MEDIA:
            return {CONF_DIGEST_MEDIA: "invalid_digest_max_media"}
        stored = {
            CONF_SCHEDULE: schedule,
            CONF_DIGEST_MODE: DigestMode(
                values.get(CONF_DIGEST_MODE, DigestMode.INSTEAD)
            ).value,
            CONF_DIGEST_MEDIA: media,
            CONF_SEND_EMPTY: bool(values.get(CONF_SEND_EMPTY, False)),
        }
    user_input.pop(SCHEDULE_SECTION, None)
    for key in _DIGEST_KEYS:
        user_input.pop(key, None)
    user_input.update(stored)
    return {}


def schedule_form_values(data: Mapping[str, Any]) -> dict[str, Any]:
    """Return the schedule section as a stored route shows it in its edit form."""
    raw = data.get(CONF_SCHEDULE)
    if not isinstance(raw, Mapping):
        return {}
    weekdays = raw.get("weekdays") or []
    return {
        SCHEDULE_SECTION: {
            CONF_SCHEDULE_KIND: raw.get("kind", SCHEDULE_OFF),
            CONF_SCHEDULE_AT: raw.get("at", DEFAULT_SCHEDULE_AT),
            CONF_SCHEDULE_WEEKDAYS: [
                WEEKDAYS[d] for d in weekdays if isinstance(d, int) and 0 <= d < 7
            ],
            CONF_SCHEDULE_HOURS: raw.get("hours", DEFAULT_SCHEDULE_HOURS),
            CONF_DIGEST_MODE: data.get(CONF_DIGEST_MODE, DigestMode.INSTEAD.value),
            CONF_DIGEST_MEDIA: data.get(CONF_DIGEST_MEDIA, DEFAULT_DIGEST_MEDIA),
            CONF_SEND_EMPTY: data.get(CONF_SEND_EMPTY, False),
        }
    }


def name_schema(default: str) -> vol.Schema:
    """Return a form with just a name."""
    return vol.Schema({vol.Required(CONF_NAME, default=default): TextSelector()})


async def single_instance_step(
    flow: ConfigFlow, kind: str, title: str, user_input: dict[str, Any] | None
) -> ConfigFlowResult:
    """Create an entry of a kind that exists at most once, after asking for a name."""
    await flow.async_set_unique_id(kind)
    # Its own words: "Home Assistant events are already set up".
    flow._abort_if_unique_id_configured(error=f"{kind}_already_configured")
    if user_input is None:
        return flow.async_show_form(step_id=kind, data_schema=name_schema(title))
    return flow.async_create_entry(title=user_input[CONF_NAME], data={CONF_KIND: kind})


async def rename_step(
    flow: ConfigFlow, user_input: dict[str, Any] | None
) -> ConfigFlowResult:
    """Reconfigure an entry of a kind without settings: just its name."""
    entry = flow._get_reconfigure_entry()
    if user_input is not None:
        return async_update_and_finish(flow, entry, title=user_input[CONF_NAME])
    return flow.async_show_form(
        step_id="reconfigure", data_schema=name_schema(entry.title)
    )


def _as_typed(user_input: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return a submitted form as it is shown again: as typed, sections nested,
    "Preview only" unticked (the next submit saves)."""
    typed = dict(user_input or {})
    typed.pop(CONF_PREVIEW_ONLY, None)
    return typed


class SubentryFormFlow(RoutePreviewFlow):
    """A subentry edited with one form: validated, checked for duplicates, saved.

    A route flow (one with `route_preview`) also shows its templates rendered
    against a sample event, and "Preview only" shows them without saving.
    """

    def _schema(self, defaults: Mapping[str, Any]) -> vol.Schema:
        raise NotImplementedError

    def _validate(self, user_input: dict[str, Any]) -> dict[str, str]:
        raise NotImplementedError

    def _unique_id(self, user_input: dict[str, Any]) -> str | None:
        return None

    def _checked(
        self, user_input: dict[str, Any], own_id: str | None
    ) -> tuple[dict[str, str], bool]:
        """Return (errors, whether to save): a preview-only submit saves nothing."""
        preview_only = bool(user_input.pop(CONF_PREVIEW_ONLY, False))
        errors = self._validate(user_input)
        if not errors and self._unique_id_taken(self._unique_id(user_input), own_id):
            errors = {"base": "already_configured"}
        return errors, not errors and not preview_only

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Create the subentry."""
        errors: dict[str, str] = {}
        # As typed (sections nested): what the form shows again, "Preview only"
        # unticked so the next submit saves.
        typed = _as_typed(user_input)
        if user_input is not None:
            errors, save = self._checked(user_input, None)
            if errors.get("base") == "already_configured":
                return self.async_abort(reason="already_configured")
            if save:
                unique_id = self._unique_id(user_input)
                name = user_input.pop(CONF_NAME)
                return self.async_create_entry(
                    title=name, data=user_input, unique_id=unique_id
                )
        return await self._async_show("user", {}, typed, errors, user_input)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Edit the subentry."""
        subentry = self._get_reconfigure_subentry()
        errors: dict[str, str] = {}
        typed = _as_typed(user_input)
        if user_input is not None:
            errors, save = self._checked(user_input, subentry.subentry_id)
            if errors.get("base") == "already_configured":
                return self.async_abort(reason="already_configured")
            if save:
                unique_id = self._unique_id(user_input)
                name = user_input.pop(CONF_NAME)
                return self.async_update_and_abort(
                    self._get_entry(),
                    subentry,
                    title=name,
                    data=user_input,
                    unique_id=unique_id,
                )
        current = typed or quiet_hours_form_values(
            {
                CONF_NAME: subentry.title,
                **subentry.data,
                **schedule_form_values(subentry.data),
            }
        )
        return await self._async_show(
            "reconfigure", current, current, errors, user_input or current
        )

    async def _async_show(
        self,
        step_id: str,
        defaults: Mapping[str, Any],
        values: Mapping[str, Any],
        errors: dict[str, str],
        checked: Mapping[str, Any] | None = None,
    ) -> SubentryFlowResult:
        """Show the form with `values`; the preview renders `checked` (the values
        as validated, so it shows what saving would store)."""
        schema = self._schema(defaults)
        placeholders: dict[str, str] | None = None
        if self.route_preview is not None:
            placeholders = await self.async_preview_placeholders(
                schema, checked if checked is not None else values, errors
            )
            schema = with_preview_field(schema)
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(schema, values),
            errors=visible_errors(schema, errors),
            description_placeholders=placeholders,
        )

    def _unique_id_taken(self, unique_id: str | None, own_id: str | None) -> bool:
        return unique_id is not None and any(
            sub.unique_id == unique_id and sub.subentry_id != own_id
            for sub in self._get_entry().subentries.values()
        )
