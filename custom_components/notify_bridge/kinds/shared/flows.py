"""Shared pieces of the config and subentry flows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    SubentryFlowResult,
)
from homeassistant.const import CONF_NAME
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
    CONF_MAX_PENDING,
    CONF_QUIET_END,
    CONF_QUIET_MODE,
    CONF_QUIET_START,
    CONF_QUIET_WEEKDAYS,
    WEEKDAYS,
)
from ...pipeline.limits import MAX_PENDING_PER_DESTINATION
from ...pipeline.policy import QuietMode
from .preview import (
    CONF_PREVIEW_ONLY,
    RoutePreviewFlow,
    with_preview_field,
)


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


def quiet_hours_fields() -> dict[vol.Marker, Any]:
    """Form fields every destination flow offers: optional quiet hours."""
    return {
        vol.Optional(CONF_QUIET_START): TimeSelector(),
        vol.Optional(CONF_QUIET_END): TimeSelector(),
        vol.Optional(CONF_QUIET_MODE, default=QuietMode.DEFER.value): SelectSelector(
            SelectSelectorConfig(
                options=[mode.value for mode in QuietMode],
                translation_key=CONF_QUIET_MODE,
            )
        ),
        vol.Optional(CONF_QUIET_WEEKDAYS): SelectSelector(
            SelectSelectorConfig(
                options=list(WEEKDAYS),
                multiple=True,
                translation_key=CONF_QUIET_WEEKDAYS,
            )
        ),
        vol.Optional(
            CONF_MAX_PENDING, default=MAX_PENDING_PER_DESTINATION
        ): NumberSelector(
            NumberSelectorConfig(min=10, max=10000, step=1, mode=NumberSelectorMode.BOX)
        ),
    }


def validate_quiet_hours(user_input: dict[str, Any]) -> dict[str, str]:
    """Return form errors for quiet hours: both ends or neither, and not equal.

    Stores only what applies: no quiet-hours keys without a window, no max_pending
    equal to the default.
    """
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
        return await self._async_show("user", {}, user_input or {}, errors)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Edit the subentry."""
        subentry = self._get_reconfigure_subentry()
        errors: dict[str, str] = {}
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
        current = user_input or {CONF_NAME: subentry.title, **subentry.data}
        return await self._async_show("reconfigure", current, current, errors)

    async def _async_show(
        self,
        step_id: str,
        defaults: Mapping[str, Any],
        values: Mapping[str, Any],
        errors: dict[str, str],
    ) -> SubentryFlowResult:
        schema = self._schema(defaults)
        placeholders: dict[str, str] | None = None
        if self.route_preview is not None:
            placeholders = await self.async_preview_placeholders(schema, values, errors)
            schema = with_preview_field(schema)
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(schema, values),
            errors=errors,
            description_placeholders=placeholders,
        )

    def _unique_id_taken(self, unique_id: str | None, own_id: str | None) -> bool:
        return unique_id is not None and any(
            sub.unique_id == unique_id and sub.subentry_id != own_id
            for sub in self._get_entry().subentries.values()
        )
