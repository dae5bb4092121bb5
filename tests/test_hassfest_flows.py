"""The forms the flows really show obey hassfest's rules (see test_hassfest_rules).

Each kind's create, reconfigure and reauth step and its subentry's add step are
started for real; every field of the form they show must have a `data_description`
in the translation of that step, every select with a translation key must have a text
for each option, and every placeholder of the step's texts must be filled by the flow.
A field added to a schema without its description fails here, whatever kind it is.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
import json
from pathlib import Path
import string
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, section
from homeassistant.helpers.data_entry_flow import _BaseFlowManagerView
from homeassistant.helpers.selector import SelectSelector
import pytest
import voluptuous as vol

from custom_components.notify_bridge.catalog import KINDS
from tests.common import kind_entry, start_entry_flow, start_subentry_flow
from tests.fakes.immich_server import API_KEY, ME_ID, FakeImmichServer

ROOT = Path(__file__).parents[1] / "custom_components" / "notify_bridge"
STRINGS = json.loads((ROOT / "strings.json").read_text())


def _placeholders(step: dict[str, Any]) -> set[str]:
    texts = [step.get("title", ""), step.get("description", "")]
    texts += list(step.get("data_description", {}).values())
    for sub in step.get("sections", {}).values():
        texts += [sub.get("description", ""), *sub.get("data_description", {}).values()]
    return {
        name
        for text in texts
        for _, name, _, _ in string.Formatter().parse(text)
        if name
    }


def _fields(schema: vol.Schema, prefix: str = "") -> dict[str, Any]:
    """Fields of a form by translation path (`field` or `sections.name.field`)."""
    found: dict[str, Any] = {}
    for marker, value in schema.schema.items():
        if isinstance(value, section):
            found |= _fields(value.schema, f"{prefix}sections.{marker.schema}.")
        else:
            found[f"{prefix}{marker.schema}"] = value
    return found


def check_form(result: Any, flow_strings: dict[str, Any]) -> list[str]:
    """What the shown form lacks in its step's translation."""
    assert result["type"] is FlowResultType.FORM, result
    step = flow_strings["step"][result["step_id"]]
    problems = []
    for path, selector in _fields(result["data_schema"]).items():
        *where, field = path.split(".")
        texts = step
        for part in where:
            texts = texts.get(part, {})
        if field not in texts.get("data_description", {}):
            problems.append(f"{result['step_id']}: {path} has no data_description")
        if isinstance(selector, SelectSelector) and (
            key := selector.config.get("translation_key")
        ):
            options = STRINGS["selector"].get(key, {}).get("options", {})
            for option in selector.config["options"]:
                value = option["value"] if isinstance(option, dict) else option
                if value not in options:
                    problems.append(f"selector {key}: option {value} has no text")
    given = set(result.get("description_placeholders") or {})
    for name in _placeholders(step) - given:
        problems.append(f"{result['step_id']}: placeholder {name} is not filled")
    fields = serialize(result["data_schema"])
    problems += [
        f"{result['step_id']}: {path} is required, hidden in a section and empty"
        for path in hidden_required_left_empty(fields, frontend_initial_data(fields))
    ]
    return problems


def serialize(schema: vol.Schema) -> list[dict[str, Any]]:
    """The form as Home Assistant's flow view sends it to the frontend (its own
    serializer, whichever library this release uses)."""
    result = {"type": FlowResultType.FORM, "data_schema": schema}
    view = _BaseFlowManagerView(None)  # type: ignore[arg-type]
    fields: list[dict[str, Any]] = view._prepare_result_json(result)["data_schema"]  # type: ignore[arg-type]
    return fields


def frontend_initial_data(fields: list[dict[str, Any]]) -> dict[str, Any]:
    """What the frontend fills an untouched form with (its computeInitialHaFormData):
    the suggested value, else the default; a section *without* a default of its own
    is filled from its fields; a required boolean is false."""
    data: dict[str, Any] = {}
    for field in fields:
        suggested = (field.get("description") or {}).get("suggested_value")
        if suggested is not None:
            data[field["name"]] = suggested
        elif "default" in field:
            data[field["name"]] = field["default"]
        elif field.get("type") == "expandable":
            nested = frontend_initial_data(field["schema"])
            if field.get("required") or nested:
                data[field["name"]] = nested
        elif field.get("required") and "boolean" in field.get("selector", {}):
            data[field["name"]] = False
    return data


def hidden_required_left_empty(
    fields: list[dict[str, Any]], data: dict[str, Any]
) -> list[str]:
    """Required fields inside a section that the untouched form leaves empty: the
    frontend refuses to submit ("Not all required fields are filled in") and the
    user, seeing every visible field filled, cannot tell why."""
    empty = []
    for field in fields:
        if field.get("type") != "expandable":
            continue
        if not field.get("required") and field["name"] not in data:
            continue
        inside = data.get(field["name"]) or {}
        empty += [
            f"{field['name']}.{inner['name']}"
            for inner in field["schema"]
            if inner.get("required") and inside.get(inner["name"]) in ("", None)
        ]
    return empty


@pytest.fixture
async def immich(socket_enabled: None) -> AsyncIterator[FakeImmichServer]:
    """A fake Immich server, for the steps that talk to it before showing a form."""
    fake = FakeImmichServer(version=3)
    await fake.start()
    yield fake
    await fake.close()


def entry_data(kind: str, immich: FakeImmichServer) -> dict[str, Any]:
    """Stored data good enough for the kind's forms to open."""
    return {
        "immich": {
            "url": immich.url,
            "api_key": API_KEY,
            "verify_ssl": True,
            "user_id": ME_ID,
        },
        # A closed local port: the chat form lists recent chats when it can.
        "telegram": {
            "bot_token": "123456:ABCDEF",
            "api_base_url": "http://127.0.0.1:9",
        },
        "gitea": {"url": "http://127.0.0.1:9"},
        "email": {
            "host": "127.0.0.1",
            "port": 9,
            "security": "starttls",
            "username": "notify",
            "password": "secret-password",
            "sender": "bridge@example.org",
        },
    }.get(kind, {})


@pytest.mark.parametrize("kind", list(KINDS))
async def test_entry_forms_describe_every_field(
    hass: HomeAssistant, kind: str, immich: FakeImmichServer
) -> None:
    """The create, reconfigure and reauth forms of every kind."""
    config = STRINGS["config"]
    problems = check_form(await start_entry_flow(hass, kind), config)
    entry = kind_entry(hass, kind, data=entry_data(kind, immich), title=kind)
    problems += check_form(await entry.start_reconfigure_flow(hass), config)
    if KINDS[kind].entry_steps.reauth_confirm is not None:
        problems += check_form(await entry.start_reauth_flow(hass), config)
    assert problems == []


@pytest.mark.parametrize("kind", list(KINDS))
async def test_subentry_forms_describe_every_field(
    hass: HomeAssistant, kind: str, immich: FakeImmichServer
) -> None:
    """The add form of every kind's subentry (routes and destinations)."""
    entry = kind_entry(hass, kind, data=entry_data(kind, immich), title=kind)
    assert entry.state is ConfigEntryState.NOT_LOADED
    strings = STRINGS["config_subentries"][KINDS[kind].subentry_type]
    assert check_form(await start_subentry_flow(hass, entry), strings) == []


def test_the_check_notices_a_missing_description() -> None:
    """A form field without data_description, an unfilled placeholder, a select
    option without text: each is reported."""
    schema = vol.Schema(
        {
            vol.Required("url"): str,
            vol.Optional("media"): SelectSelector(
                {"options": ["thumbnail", "huge"], "translation_key": "immich_media"}
            ),
        }
    )
    strings = {
        "step": {
            "x": {
                "description": "Open {example}",
                "data": {"url": "URL", "media": "Media"},
                "data_description": {"media": "Which rendition."},
            }
        }
    }
    result = {
        "type": FlowResultType.FORM,
        "step_id": "x",
        "data_schema": schema,
        "description_placeholders": None,
    }
    assert sorted(check_form(result, strings)) == [
        "selector immich_media: option huge has no text",
        "x: placeholder example is not filled",
        "x: url has no data_description",
    ]


def test_the_check_notices_a_section_the_frontend_leaves_empty() -> None:
    """A section declared with a default of its own (`default=dict`) reaches the
    frontend as `{}`, so its required fields stay empty and the form cannot be
    sent; declared without one, the frontend fills it from its fields."""
    inner = vol.Schema({vol.Required("media", default="preview"): str})
    broken = vol.Schema({vol.Optional("delivery", default=dict): section(inner)})
    fields = serialize(broken)
    assert hidden_required_left_empty(fields, frontend_initial_data(fields)) == [
        "delivery.media"
    ]
    fixed = vol.Schema({vol.Optional("delivery"): section(inner)})
    fields = serialize(fixed)
    assert frontend_initial_data(fields) == {"delivery": {"media": "preview"}}
    assert hidden_required_left_empty(fields, frontend_initial_data(fields)) == []
