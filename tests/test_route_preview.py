"""Route previews: the `preview_template` action on a stored route, and every route
form showing (and, with "Preview only", re-showing) its templates rendered against a
sample event of its kind before anything is saved."""

from __future__ import annotations

import json
from pathlib import Path
from types import MappingProxyType

from homeassistant.config_entries import SOURCE_USER, ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import voluptuous as vol

from custom_components.notify_bridge.catalog import KINDS
from custom_components.notify_bridge.const import DOMAIN
from custom_components.notify_bridge.kinds.shared.preview import (
    async_render_samples,
)
from custom_components.notify_bridge.runtime import DATA_HUB

from .conftest import DEMO_ENTITY, DEMO_ROUTE_ID

STRINGS = Path(__file__).parents[1] / "custom_components/notify_bridge/strings.json"
ROUTE_ENTITY = "event.demo_route_events"


async def preview(hass: HomeAssistant, **data) -> dict:
    """Call notify_bridge.preview_template and return its response."""
    return await hass.services.async_call(
        DOMAIN, "preview_template", data, blocking=True, return_response=True
    )


@pytest.mark.usefixtures("setup_integration")
@pytest.mark.parametrize("key", [ROUTE_ENTITY, DEMO_ROUTE_ID])
async def test_preview_stored_route_needs_no_template(
    hass: HomeAssistant, key: str
) -> None:
    """By its event entity or subentry id, a route renders its own templates against
    a sample event: no `{{ }}` in the call for Home Assistant to render first."""
    shown = await preview(hass, route=key)
    assert shown["route"] == "Demo route"
    assert shown["text"] == "Hello from Notify Bridge"
    assert shown["samples"] == [
        {
            "event_type": "notify_bridge_demo",
            "title": "Notify Bridge demo",
            "text": "Hello from Notify Bridge",
            "error": None,
        }
    ]


@pytest.mark.usefixtures("setup_integration")
async def test_preview_route_with_other_template_and_format(
    hass: HomeAssistant,
) -> None:
    """A template given with a route renders against that route's sample event, in
    the format asked for (the template's own markup is kept)."""
    shown = await preview(
        hass, route=ROUTE_ENTITY, template="<b>{{ data.name }}</b> & co", format="html"
    )
    assert shown["format"] == "html"
    assert shown["text"] == "<b>Front door</b> & co"


@pytest.mark.usefixtures("setup_integration")
async def test_preview_route_refuses_unknown_and_broken(hass: HomeAssistant) -> None:
    """Something that is not a route is named in a translated error; a template that
    fails on the sample says why."""
    with pytest.raises(ServiceValidationError) as err:
        await preview(hass, route=DEMO_ENTITY)
    assert err.value.translation_key == "not_a_route"
    assert err.value.translation_placeholders == {"route": DEMO_ENTITY}
    with pytest.raises(ServiceValidationError) as err:
        await preview(hass, route=ROUTE_ENTITY, template="{{ 1 / 0 }}")
    assert err.value.translation_key == "invalid_template"
    with pytest.raises(vol.Invalid, match="at least one of"):
        await preview(hass)  # neither a template nor a route


async def _start_route(hass: HomeAssistant, entry: MockConfigEntry) -> dict:
    return await hass.config_entries.subentries.async_init(
        (entry.entry_id, "event_route"), context={"source": SOURCE_USER}
    )


@pytest.mark.usefixtures("setup_integration")
async def test_route_form_shows_sample_and_previews_before_saving(
    hass: HomeAssistant, source_entry: MockConfigEntry
) -> None:
    """The form opens with the default template rendered; "Preview only" shows the
    typed template rendered and saves nothing; unticked, the same input saves."""
    result = await _start_route(hass, source_entry)
    assert "Hello from Notify Bridge" in result["description_placeholders"]["preview"]
    typed = {
        "name": "Door",
        "event_type": "door_opened",
        "destinations": [DEMO_ENTITY],
        "template": "{{ data.name }} opened ({{ event.type }})",
    }
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**typed, "preview_only": True}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {}
    assert (
        "Front door opened (door_opened)"
        in (result["description_placeholders"]["preview"])
    )
    assert len(source_entry.subentries) == 1  # nothing saved yet
    # The box comes back unticked: the next plain submit saves.
    shown = {str(k): k.description for k in result["data_schema"].schema}
    assert (shown["preview_only"] or {}).get("suggested_value") in (None, False)
    assert shown["template"] == {"suggested_value": typed["template"]}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], typed
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert "preview_only" not in result["data"]


@pytest.mark.usefixtures("setup_integration")
async def test_route_form_shows_the_template_error(
    hass: HomeAssistant, source_entry: MockConfigEntry
) -> None:
    """A broken template's exact error is shown on the form, not behind an action."""
    result = await _start_route(hass, source_entry)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            "name": "Door",
            "event_type": "door_opened",
            "destinations": [DEMO_ENTITY],
            "template": "{{ data.name ",
        },
    )
    assert result["errors"] == {"template": "invalid_template"}
    shown = result["description_placeholders"]["preview"]
    assert shown.startswith("⚠ ")
    assert "end of template" in shown


def test_route_strings_show_preview_and_no_longer_point_to_the_action() -> None:
    """Every route step with templates shows {preview} and labels "Preview only"
    (a route asks for templates in at least one step); the template error no
    longer sends people to an action that cannot take `{{ }}`."""
    strings = json.loads(STRINGS.read_text(encoding="utf-8"))
    for kind in KINDS.values():
        if kind.route_preview is None:
            continue
        sub = strings["config_subentries"][kind.subentry_type]
        with_templates = [
            step
            for step in sub["step"].values()
            if any("template" in field for field in step["data"])
        ]
        assert with_templates, kind.subentry_type
        for step in with_templates:
            assert "{preview}" in step["description"]
            assert step["data"]["preview_only"] == "Preview only"
            assert step["data_description"]["preview_only"]
        assert "preview_template" not in sub["error"]["invalid_template"]
    assert "route" in strings["services"]["preview_template"]["fields"]


@pytest.mark.usefixtures("setup_integration")
@pytest.mark.parametrize(
    "kind", [kind for kind, spec in KINDS.items() if spec.route_preview is not None]
)
async def test_every_default_template_renders_on_its_sample(
    hass: HomeAssistant, kind: str
) -> None:
    """Each source kind's sample event fits every one of its default templates: a
    preview of an untouched route shows real text, never an error."""
    spec = KINDS[kind]
    assert spec.route_preview is not None
    data = _all_events(kind)
    subentry = ConfigSubentry(
        data=MappingProxyType(data),
        subentry_type=spec.subentry_type,
        title="Route",
        unique_id=None,
    )
    samples = await async_render_samples(
        hass.data[DATA_HUB], spec.route_preview, "entry", subentry
    )
    assert samples
    for sample in samples:
        assert sample.error is None, (kind, sample)
        assert sample.text.strip(), (kind, sample)


def _all_events(kind: str) -> dict:
    """Route data that selects as many of the kind's event types as it has."""
    if kind == "immich":
        from custom_components.notify_bridge.sources.immich.events import (
            WatchEventType,
        )

        return {"albums": ["a"], "events": [e.value for e in WatchEventType]}
    if kind == "ha_events":
        return {"event_type": "door_opened", "template": "{{ data.message }}"}
    return {"events": [], "event_types": []}


def test_format_options_read_as_words() -> None:
    """The format selectors of `send` and `preview_template` show "Plain text",
    "HTML", "Markdown" (translated options), not raw values."""
    import yaml

    services = yaml.safe_load(
        (STRINGS.parent / "services.yaml").read_text(encoding="utf-8")
    )
    strings = json.loads(STRINGS.read_text(encoding="utf-8"))
    options = strings["selector"]["output_format"]["options"]
    assert options == {"plain": "Plain text", "html": "HTML", "markdown": "Markdown"}
    for service, field in (("send", "parse_mode"), ("preview_template", "format")):
        select = services[service]["fields"][field]["selector"]["select"]
        assert select["translation_key"] == "output_format"
        assert set(select["options"]) == set(options)
