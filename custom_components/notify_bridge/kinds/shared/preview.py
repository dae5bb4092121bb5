"""Route previews: a route's templates rendered against a sample event of its kind.

Used by the `preview_template` action (a stored route, by its event entity or
subentry id) and by every route flow (the form shows what the typed templates
produce before the route is saved). Nothing here reads action data, so a template
never passes through Home Assistant's own template rendering first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar

from homeassistant.config_entries import ConfigSubentry, ConfigSubentryFlow
from homeassistant.const import CONF_NAME
from homeassistant.helpers.selector import BooleanSelector
import voluptuous as vol

from ...pipeline.engine import event_context
from ...pipeline.models import OutputFormat
from ...pipeline.render import TemplateError, validate_template
from ...runtime import DATA_HUB, BridgeHub, RoutePreview

# Event types previewed at most (an Immich route may watch five): enough to see
# each template once without a form description taller than the screen.
MAX_PREVIEWED_TYPES = 5
# The id a not-yet-saved route is previewed under.
UNSAVED_ROUTE_ID = "preview"
# The description placeholder of every route step, and the box that previews only.
CONF_PREVIEW = "preview"
CONF_PREVIEW_ONLY = "preview_only"
# The form error of a template that is not valid Jinja2.
INVALID = "invalid_template"


@dataclass(frozen=True, slots=True)
class RenderedSample:
    """One event type of a route rendered against its sample event."""

    event_type: str
    text: str
    title: str | None = None
    # Set instead of text when a template fails on the sample.
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the action response form."""
        return {
            "event_type": self.event_type,
            "title": self.title,
            "text": self.text,
            "error": self.error,
        }


def unsaved_subentry(
    subentry_type: str, title: str, data: Mapping[str, Any]
) -> ConfigSubentry:
    """Return a route subentry as the flow would save it, to preview it first."""
    return ConfigSubentry(
        data=MappingProxyType(dict(data)),
        subentry_id=UNSAVED_ROUTE_ID,
        subentry_type=subentry_type,
        title=title,
        unique_id=None,
    )


async def async_render_samples(
    hub: BridgeHub,
    preview: RoutePreview,
    entry_id: str,
    subentry: ConfigSubentry,
    *,
    output_format: OutputFormat = OutputFormat.PLAIN,
    template: str | None = None,
) -> list[RenderedSample]:
    """Render a route's templates (or `template`) against one sample per event type.

    A route that expands per repository or branch has one template per event type,
    so each event type is rendered once.
    """
    chosen: dict[str, tuple[str, str | None]] = {}
    for route in preview.routes(entry_id, subentry):
        for event_type in sorted(route.event_types) or ["event"]:
            chosen.setdefault(
                event_type, (template or route.template, route.title_template)
            )
    samples: list[RenderedSample] = []
    for event_type, (message, title) in list(chosen.items())[:MAX_PREVIEWED_TYPES]:
        context = event_context(preview.sample_event(entry_id, event_type))
        try:
            text = await hub.pipeline.async_preview(message, context, output_format)
            rendered_title = (
                await hub.pipeline.async_preview(title, context, OutputFormat.PLAIN)
                if title
                else None
            )
        except TemplateError as err:
            samples.append(RenderedSample(event_type, "", error=str(err)))
            continue
        samples.append(RenderedSample(event_type, text, rendered_title))
    return samples


def samples_text(samples: list[RenderedSample]) -> str:
    """Return the samples as the form's description shows them (Markdown)."""
    blocks = []
    for sample in samples:
        if sample.error is not None:
            body = f"⚠ {sample.error}"
        else:
            body = f"{sample.title}\n{sample.text}" if sample.title else sample.text
        quoted = "\n".join(f"> {line}" for line in (body or "(empty)").splitlines())
        blocks.append(f"**{sample.event_type}**\n{quoted or '> (empty)'}")
    return "\n\n".join(blocks) or "—"


def schema_defaults(schema: vol.Schema) -> dict[str, Any]:
    """Return the defaults a form fills in, so an untouched form previews too."""
    defaults: dict[str, Any] = {}
    for key in schema.schema:
        # vol.Optional/Required carry `default`; a plain Marker does not.
        default: Any = getattr(key, "default", vol.UNDEFINED)
        if isinstance(key, vol.Marker) and default is not vol.UNDEFINED:
            defaults[str(key)] = default()
    return defaults


class RoutePreviewFlow(ConfigSubentryFlow):
    """A route flow whose form shows its templates rendered against a sample event.

    The form's description carries `{preview}`; ticking "Preview only" shows the
    rendering of what was typed without saving, so a template is seen before it
    sends anything.
    """

    route_preview: ClassVar[RoutePreview | None] = None

    async def async_preview_placeholders(
        self,
        schema: vol.Schema,
        values: Mapping[str, Any],
        errors: Mapping[str, str],
    ) -> dict[str, str]:
        """Return `{preview}`: the samples of the current values, the template's
        exact error, or a dash while other fields are wrong."""
        bad = next((key for key, err in errors.items() if err == INVALID), None)
        if bad is not None:
            return {CONF_PREVIEW: f"⚠ {template_error(values.get(bad))}"}
        # No hub: the integration is not set up (only when a test skips it).
        hub = self.hass.data.get(DATA_HUB)
        if self.route_preview is None or errors or hub is None:
            return {CONF_PREVIEW: "—"}
        data = {**schema_defaults(schema), **values}
        title = str(data.pop(CONF_NAME, "") or "")
        data.pop(CONF_PREVIEW_ONLY, None)
        subentry = unsaved_subentry(self._subentry_type, title, data)
        samples = await async_render_samples(
            hub,
            self.route_preview,
            self._get_entry().entry_id,
            subentry,
        )
        return {CONF_PREVIEW: samples_text(samples)}


def with_preview_field(schema: vol.Schema) -> vol.Schema:
    """Return a route form with the "Preview only" box last (never stored)."""
    return schema.extend(
        {vol.Optional(CONF_PREVIEW_ONLY, default=False): BooleanSelector()}
    )


def template_error(template: str | None) -> str | None:
    """Return why a template is not valid Jinja2 (None when it is)."""
    try:
        validate_template(template or "")
    except TemplateError as err:
        return str(err)
    return None
