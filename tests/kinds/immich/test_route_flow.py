"""The Immich album route form: albums and sections first, then the templates of
the picked changes (with their preview), as the frontend submits them."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType

from tests.conftest import DEMO_ENTITY
from tests.fakes.immich_server import FakeImmichServer

from .conftest import (
    IMMICH_ENTRY_ID,
    ROUTE_ID,
    immich_entry,
    immich_route,
    route_form,
    setup_all,
    submit_route_form,
)


async def _start_route(hass: HomeAssistant) -> dict[str, Any]:
    return dict(
        await hass.config_entries.subentries.async_init(
            (IMMICH_ENTRY_ID, "album_route"), context={"source": SOURCE_USER}
        )
    )


def _fields(result: dict[str, Any]) -> list[str]:
    return [str(key) for key in result["data_schema"].schema]


def _section(result: dict[str, Any], name: str) -> Any:
    return next(v for k, v in result["data_schema"].schema.items() if k == name)


async def test_route_flow(
    hass: HomeAssistant, target_entry: Any, server: FakeImmichServer
) -> None:
    """Albums are listed from the server; each mistake is a form error at its step;
    the route is saved only after its templates."""
    holiday = server.create_album("Holiday", 2)
    server.create_album("Archive", 1)
    entry = immich_entry(hass, server, [])
    await setup_all(hass)
    result = await _start_route(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["description_placeholders"] == {"albums": "2"}
    albums = result["data_schema"].schema["albums"].config["options"]
    assert [option["label"] for option in albums] == ["Archive (1)", "Holiday (2)"]

    for overrides, error in (
        ({"albums": []}, {"albums": "no_albums"}),
        ({"events": []}, {"events": "no_events"}),
        ({"destinations": []}, {"destinations": "no_destinations"}),
    ):
        first, _ = route_form([holiday], **overrides)
        result = dict(
            await hass.config_entries.subentries.async_configure(
                result["flow_id"], first
            )
        )
        assert result["step_id"] == "user"
        assert result["errors"] == error

    first, templates = route_form(
        [holiday], people=[" Ann ", ""], max_media=3.0, events=["assets_added"]
    )
    result = dict(
        await hass.config_entries.subentries.async_configure(result["flow_id"], first)
    )
    assert result["step_id"] == "templates"
    # The default template of the picked event, rendered against a sample change.
    assert "2 new items in Summer 2025" in result["description_placeholders"]["preview"]
    result = dict(
        await hass.config_entries.subentries.async_configure(
            result["flow_id"], {"template_assets_added": "{{ broken"}
        )
    )
    assert result["step_id"] == "templates"
    assert result["errors"] == {"template_assets_added": "invalid_template"}
    assert result["description_placeholders"]["preview"].startswith("⚠ ")
    assert not entry.subentries

    result = dict(
        await hass.config_entries.subentries.async_configure(
            result["flow_id"], {"template_assets_added": "{{ album.name }}!"}
        )
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    subentry = next(iter(entry.subentries.values()))
    assert subentry.title == "Family"
    assert subentry.data["albums"] == [holiday]
    assert subentry.data["people"] == ["Ann"]
    assert subentry.data["max_media"] == 3
    assert subentry.data["template_assets_added"] == "{{ album.name }}!"
    # Stored flat, as routes always were: no section survives in the data.
    assert not {"filters", "delivery", "preview_only"} & set(subentry.data)
    assert entry.state is ConfigEntryState.LOADED


async def test_long_settings_sit_in_collapsed_sections(
    hass: HomeAssistant, target_entry: Any, v3: FakeImmichServer
) -> None:
    """The first step shows what to watch and where to; filters, delivery and the
    schedules are collapsed sections, and no template box is on it."""
    v3.create_album("Holiday", 1)
    immich_entry(hass, v3, [])
    await setup_all(hass)
    result = await _start_route(hass)
    assert _fields(result) == [
        "name",
        "albums",
        "events",
        "destinations",
        "filters",
        "delivery",
        "digest_schedule",
        "memories_schedule",
    ]
    for name in ("filters", "delivery", "digest_schedule", "memories_schedule"):
        assert _section(result, name).options == {"collapsed": True}
    delivery = {str(k): k for k in _section(result, "delivery").schema.schema}
    assert set(delivery) == {"media", "max_media", "coalesce_seconds", "digest"}
    assert delivery["coalesce_seconds"].default() == 60


async def test_only_the_picked_changes_have_template_boxes(
    hass: HomeAssistant, target_entry: Any, v3: FakeImmichServer
) -> None:
    """Picking two changes shows two templates (and the title) in the second step;
    the preview renders those two only."""
    album = v3.create_album("Holiday", 1)
    immich_entry(hass, v3, [])
    await setup_all(hass)
    result = await _start_route(hass)
    first, _ = route_form([album], events=["album_renamed", "assets_added"])
    result = dict(
        await hass.config_entries.subentries.async_configure(result["flow_id"], first)
    )
    assert result["step_id"] == "templates"
    assert _fields(result) == [
        "template_assets_added",
        "template_album_renamed",
        "title_template",
        "preview_only",
    ]
    preview = result["description_placeholders"]["preview"]
    assert "**assets_added**" in preview
    assert "**album_renamed**" in preview
    assert "sharing_changed" not in preview


async def test_preview_only_shows_and_saves_nothing(
    hass: HomeAssistant, target_entry: Any, v3: FakeImmichServer
) -> None:
    """ "Preview only" re-shows the templates step with the typed template rendered;
    unticked, the same input saves."""
    album = v3.create_album("Holiday", 1)
    entry = immich_entry(hass, v3, [])
    await setup_all(hass)
    result = await _start_route(hass)
    typed = {
        "template_assets_added": "Look: {{ album.name }}",
        "title_template": "Immich",
    }
    result = await submit_route_form(
        hass,
        result["flow_id"],
        [album],
        events=["assets_added"],
        **typed,
        preview_only=True,
    )
    assert result["step_id"] == "templates"
    preview = result["description_placeholders"]["preview"]
    assert "> Immich" in preview
    assert "> Look: Summer 2025" in preview
    assert not entry.subentries
    shown = {str(k): k.description for k in result["data_schema"].schema}
    assert shown["template_assets_added"] == {
        "suggested_value": "Look: {{ album.name }}"
    }
    result = dict(
        await hass.config_entries.subentries.async_configure(result["flow_id"], typed)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    [sub] = entry.subentries.values()
    assert sub.data["title_template"] == "Immich"


async def test_route_flow_entry_not_loaded(
    hass: HomeAssistant, target_entry: Any, v3: FakeImmichServer
) -> None:
    """A route can be added while the source is not loaded (its own client)."""
    album = v3.create_album("Holiday", 1)
    entry = immich_entry(hass, v3, [])
    result = await _start_route(hass)
    assert result["type"] is FlowResultType.FORM
    result = await submit_route_form(hass, result["flow_id"], [album])
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert len(entry.subentries) == 1


async def test_route_flow_server_down(
    hass: HomeAssistant, target_entry: Any, v3: FakeImmichServer
) -> None:
    """Without the server the albums cannot be listed: a translated abort."""
    immich_entry(hass, v3, [])
    await setup_all(hass)
    v3.fail(503, path="/api/albums")
    result = await _start_route(hass)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "cannot_connect"
    v3.fail(401, path="/api/albums")
    result = await _start_route(hass)
    assert result["reason"] == "invalid_auth"


async def test_route_reconfigure(
    hass: HomeAssistant, target_entry: Any, v3: FakeImmichServer
) -> None:
    """Editing shows the stored values in their sections, keeps configured albums
    that vanished selectable, and keeps the template of a change no longer picked
    (picking it again brings it back)."""
    album = v3.create_album("Holiday", 1)
    gone = "0a0a0a0a-0000-4000-8000-000000000000"
    entry = immich_entry(
        hass,
        v3,
        [
            immich_route(
                [album, gone],
                people=["Ann"],
                template_album_renamed="Renamed to {{ new_name }}",
            )
        ],
    )
    await setup_all(hass)
    result = dict(await entry.start_subentry_reconfigure_flow(hass, ROUTE_ID))
    assert result["step_id"] == "reconfigure"
    labels = [
        option["label"]
        for option in result["data_schema"].schema["albums"].config["options"]
    ]
    assert labels == ["Holiday (1)", f"{gone} (not found)"]
    filters = {
        str(k): k.description["suggested_value"]
        for k in _section(result, "filters").schema.schema
    }
    assert filters["people"] == ["Ann"]

    first, _ = route_form([], name="Renamed")
    result = dict(
        await hass.config_entries.subentries.async_configure(result["flow_id"], first)
    )
    assert result["errors"] == {"albums": "no_albums"}
    first, _ = route_form(
        [album], name="Renamed", destinations=[DEMO_ENTITY], events=["assets_added"]
    )
    result = dict(
        await hass.config_entries.subentries.async_configure(result["flow_id"], first)
    )
    assert result["step_id"] == "templates"
    assert "template_album_renamed" not in _fields(result)
    result = dict(
        await hass.config_entries.subentries.async_configure(
            result["flow_id"], {"template_assets_added": "New: {{ added_count }}"}
        )
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    stored = entry.subentries[ROUTE_ID]
    assert stored.title == "Renamed"
    assert stored.data["albums"] == [album]
    assert stored.data["events"] == ["assets_added"]
    assert stored.data["template_assets_added"] == "New: {{ added_count }}"
    assert stored.data["template_album_renamed"] == "Renamed to {{ new_name }}"

    result = dict(await entry.start_subentry_reconfigure_flow(hass, ROUTE_ID))
    first, _ = route_form([album], events=["album_renamed"])
    result = dict(
        await hass.config_entries.subentries.async_configure(result["flow_id"], first)
    )
    shown = {str(k): k.description for k in result["data_schema"].schema}
    assert shown["template_album_renamed"] == {
        "suggested_value": "Renamed to {{ new_name }}"
    }

    v3.fail(500, path="/api/albums")
    result = dict(await entry.start_subentry_reconfigure_flow(hass, ROUTE_ID))
    assert result["reason"] == "cannot_connect"


async def test_a_wrong_schedule_keeps_what_was_typed_in_the_sections(
    hass: HomeAssistant, target_entry: Any, v3: FakeImmichServer
) -> None:
    """An error found after the sections were read shows the form again with
    every section as typed (nothing the user entered is lost)."""
    album = v3.create_album("Holiday", 1)
    immich_entry(hass, v3, [])
    await setup_all(hass)
    result = await _start_route(hass)
    first, _ = route_form([album], people=["Ann"], media="original")
    first["digest_schedule"] = {"schedule_kind": "weekly", "schedule_weekdays": []}
    result = dict(
        await hass.config_entries.subentries.async_configure(result["flow_id"], first)
    )
    assert result["step_id"] == "user"
    # At the top of the form: the frontend shows no error inside a section.
    assert result["errors"] == {"base": "no_schedule_weekdays"}
    for section, field, value in (
        ("filters", "people", ["Ann"]),
        ("delivery", "media", "original"),
    ):
        shown = {str(k): k.description for k in _section(result, section).schema.schema}
        assert shown[field] == {"suggested_value": value}


async def test_route_flow_coalesces_by_default(
    hass: HomeAssistant, target_entry: Any, v3: FakeImmichServer
) -> None:
    """A new Immich route left with its delivery section closed stores a 60 s
    coalescing window (and the other defaults of its sections)."""
    album = v3.create_album("Holiday", 1)
    entry = immich_entry(hass, v3, [])
    await setup_all(hass)
    result = await _start_route(hass)
    first, templates = route_form([album])
    del first["delivery"], first["filters"]
    result = dict(
        await hass.config_entries.subentries.async_configure(result["flow_id"], first)
    )
    result = dict(
        await hass.config_entries.subentries.async_configure(
            result["flow_id"], templates
        )
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    subentry = next(iter(entry.subentries.values()))
    assert subentry.data["coalesce_seconds"] == 60
    assert subentry.data["media"] == "preview"
    assert subentry.data["favorites_only"] is False
