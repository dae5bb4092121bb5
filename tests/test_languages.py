# ruff: noqa: RUF001, RUF002 -- Russian is written in Cyrillic
"""Each destination reads its own language: built-in texts, default templates, and
user templates that branch on `language`; Home Assistant's language by default."""

from __future__ import annotations

from datetime import datetime

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigSubentryDataWithId
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.notify_bridge.kinds.home_assistant.target import (
    HomeAssistantDestination,
)
from custom_components.notify_bridge.pipeline.engine import Pipeline
from custom_components.notify_bridge.pipeline.models import BridgeEvent, Route
from custom_components.notify_bridge.runtime import DATA_HUB
from custom_components.notify_bridge.sources import gitea, planka
from custom_components.notify_bridge.sources.immich.events import WatchEventType
from custom_components.notify_bridge.sources.immich.routes import DEFAULT_TEMPLATES
from tests.common import RecordingDestination, start_subentry_flow

from .conftest import DEMO_EVENT, TARGET_ENTRY_ID, destination, route

PHONE = "notify.phone"
NIGHT = {"quiet_start": "22:00:00", "quiet_end": "07:00:00", "quiet_mode": "defer"}
BRANCHING = "{% if language == 'ru' %}Звонок: {{ data.who }}{% else %}Ring: {{ data.who }}{% endif %}"


def local(hour: int, day: int) -> datetime:
    """2025-01-<day> at hour:00 in Home Assistant's time zone."""
    return datetime(2025, 1, day, hour, tzinfo=dt_util.get_default_time_zone())


def phone(**options: str) -> ConfigSubentryDataWithId:
    """The phone: a legacy notify service."""
    data = {"delivery": "notify_service", "notify_service": "phone", **options}
    return destination("dest_phone", "Phone", data, "notify_service:phone")


def sidebar(**options: str) -> ConfigSubentryDataWithId:
    """A persistent notification in the sidebar."""
    return destination(
        "dest_demo", "Sidebar", {"delivery": "persistent_notification", **options}
    )


def demo_route(template: str = BRANCHING) -> ConfigSubentryDataWithId:
    """The demo event to both destinations."""
    return route(
        "route_demo",
        "Doorbell",
        {
            "event_type": DEMO_EVENT,
            "destinations": [PHONE, "notify.sidebar"],
            "template": template,
            "digest": True,
        },
    )


def sidebar_messages(hass: HomeAssistant) -> list[str]:
    """What the persistent notifications say."""
    return [n["message"] for n in hass.data["persistent_notification"].values()]


@pytest.mark.parametrize("destinations", [[phone(language="ru"), sidebar()]])
@pytest.mark.parametrize("routes", [[demo_route()]])
async def test_user_template_branches_on_each_destinations_language(
    hass: HomeAssistant,
    legacy_notify_calls: list[ServiceCall],
    setup_integration: None,
) -> None:
    """One event, one template: the Russian phone reads Russian, the sidebar
    (no language: Home Assistant's, English here) reads English."""
    hass.bus.async_fire(DEMO_EVENT, {"who": "Ann"})
    await hass.async_block_till_done()
    assert [call.data["message"] for call in legacy_notify_calls] == ["Звонок: Ann"]
    assert sidebar_messages(hass) == ["Ring: Ann"]


@pytest.fixture
def russian_home_assistant(hass: HomeAssistant) -> None:
    """Home Assistant itself is set to Russian (before the integration loads)."""
    hass.config.language = "ru"


@pytest.mark.parametrize("destinations", [[phone(language="en"), sidebar()]])
@pytest.mark.parametrize("routes", [[demo_route()]])
async def test_home_assistant_language_is_the_default(
    hass: HomeAssistant,
    russian_home_assistant: None,
    legacy_notify_calls: list[ServiceCall],
    setup_integration: None,
) -> None:
    """A destination without a language reads Home Assistant's (Russian); one
    set to English stays English."""
    assert hass.data[DATA_HUB].pipeline.default_language == "ru"
    assert hass.data[DATA_HUB].policy.default_language == "ru"
    hass.bus.async_fire(DEMO_EVENT, {"who": "Ann"})
    await hass.async_block_till_done()
    assert sidebar_messages(hass) == ["Звонок: Ann"]
    assert [call.data["message"] for call in legacy_notify_calls] == ["Ring: Ann"]


@pytest.mark.parametrize("destinations", [[phone(language="ru", **NIGHT)]])
@pytest.mark.parametrize("routes", [[demo_route("{{ data.who }}")]])
async def test_quiet_hours_digest_in_russian(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    legacy_notify_calls: list[ServiceCall],
    setup_integration: None,
) -> None:
    """Night rings to a Russian phone arrive in the morning as a Russian digest,
    with the Russian plural form."""
    freezer.move_to(local(23, day=6))
    for who in ("Ann", "Bob", "Eve"):
        hass.bus.async_fire(DEMO_EVENT, {"who": who})
    await hass.async_block_till_done()
    assert legacy_notify_calls == []
    morning = local(7, day=7).replace(minute=1)
    freezer.move_to(morning)
    async_fire_time_changed(hass, morning, fire_all=True)
    await hass.async_block_till_done(wait_background_tasks=True)
    [call] = legacy_notify_calls
    message = call.data["message"]
    assert message.startswith("Пока вас не было: 3 уведомления от «Doorbell».")
    assert message.endswith("Ann\n\nBob\n\nEve")


async def _rendered(template: str, context: dict, language: str | None) -> str:
    """Render a source's default template through the pipeline to a destination
    in a language (None: the pipeline's default, English)."""
    dest = RecordingDestination()
    dest.language = language  # type: ignore[attr-defined]
    pipeline = Pipeline(lambda key: dest if key == dest.destination_id else None)
    event = BridgeEvent(
        source_entry_id="source",
        source_kind="test",
        event_type="event",
        data=context,
        occurred_at=dt_util.utcnow(),
    )
    route = Route(
        route_id="route",
        name="Route",
        source_entry_id="source",
        event_types=frozenset({"event"}),
        match={},
        destinations=(dest.destination_id,),
        template=template,
    )
    summary = await pipeline.async_dispatch_route(route, event)
    assert summary.status == "ok", summary.as_dict()
    return dest.notifications[-1].message


PUSH = {
    "pusher": "ann",
    "commit_count": 3,
    "repository": "home/bridge",
    "branch": "main",
    "commits": [],
    "more_commits": 0,
    "compare_url": "https://git.example/compare",
}


async def test_default_templates_follow_the_destination_language() -> None:
    """Gitea, Planka and Immich defaults in Russian for a Russian destination, in
    English otherwise; Russian plurals come out right."""
    push = gitea.default_template(gitea.PUSH)
    assert (await _rendered(push, PUSH, "ru")).startswith(
        "ann: 3 коммита в home/bridge:main"
    )
    assert (await _rendered(push, {**PUSH, "commit_count": 5}, "ru-RU")).startswith(
        "ann: 5 коммитов"
    )
    assert (await _rendered(push, PUSH, None)).startswith(
        "ann pushed 3 commits to home/bridge:main"
    )
    card = {"user": "bob", "card": {"name": "Milk"}, "list": {"name": "To do"}}
    card["board"] = {"name": "Home"}
    created = planka.default_template(planka.CARD_CREATED)
    assert await _rendered(created, card, "ru") == (
        "Новая карточка «Milk» в списке To do на доске Home (bob)"
    )
    assert await _rendered(created, card, "de") == (
        'bob created card "Milk" in To do on Home'
    )
    added = DEFAULT_TEMPLATES[WatchEventType.ASSETS_ADDED]
    photos = {"album": {"name": "Family", "link": "L"}, "assets": [{"type": "IMAGE"}]}
    assert (await _rendered(added, photos, "ru")).startswith("1 новый файл в «Family»")
    photos["assets"] = [{"type": "IMAGE"}] * 21
    assert (await _rendered(added, photos, "ru")).startswith("21 новый файл")
    photos["assets"] = [{"type": "IMAGE"}] * 12
    assert (await _rendered(added, photos, "ru")).startswith("12 новых файлов")


async def test_workflow_state_in_russian() -> None:
    """A failed workflow reads "с ошибкой"; an unknown state is shown as is."""
    run = gitea.default_template(gitea.WORKFLOW_RUN)
    context = {
        "workflow": {"name": "CI", "conclusion": "failure", "url": "U"},
        "repository": "home/bridge",
    }
    assert await _rendered(run, context, "ru") == (
        "Процесс CI в home/bridge: с ошибкой\nU"
    )
    context["workflow"] = {"name": "CI", "status": "odd", "url": "U"}
    assert await _rendered(run, context, "ru") == "Процесс CI в home/bridge: odd\nU"


@pytest.mark.usefixtures("setup_integration", "legacy_notify_calls")
async def test_destination_flow_offers_the_language(hass: HomeAssistant) -> None:
    """A notification target gets a language; Home Assistant's is not stored."""
    entry = hass.config_entries.async_get_entry(TARGET_ENTRY_ID)
    assert isinstance(entry, MockConfigEntry)
    for language, stored in (("ru", {"language": "ru"}), ("ha", {})):
        result = await start_subentry_flow(hass, entry)
        result = await hass.config_entries.subentries.async_configure(
            result["flow_id"],
            {
                "name": f"Phone {language}",
                "delivery": "notify_service",
                "notify_service": "phone",
                "language": language,
            },
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["data"] == {
            "delivery": "notify_service",
            "notify_service": "phone",
            **stored,
        }
        await hass.async_block_till_done()
        # Delete it again: the next one would be a duplicate.
        subentry = next(
            sub for sub in entry.subentries.values() if sub.title == f"Phone {language}"
        )
        hass.config_entries.async_remove_subentry(entry, subentry.subentry_id)
        await hass.async_block_till_done()


async def test_language_of_home_assistant_destination_is_exposed(
    hass: HomeAssistant,
) -> None:
    """The destination object carries the stored language for the pipeline."""
    russian = HomeAssistantDestination(
        hass, "d", "D", {"delivery": "persistent_notification", "language": "ru"}
    )
    default = HomeAssistantDestination(hass, "d", "D", {"delivery": "notify_service"})
    assert russian.language == "ru"
    assert default.language is None


@pytest.mark.parametrize("destinations", [[phone(language="ru"), sidebar()]])
@pytest.mark.usefixtures("legacy_notify_calls", "setup_integration")
async def test_preview_renders_in_the_destinations_language(
    hass: HomeAssistant,
) -> None:
    """preview_template for a destination renders as its delivery would: in its
    language; a context naming a language wins."""

    async def preview(**data: object) -> str:
        response = await hass.services.async_call(
            "notify_bridge",
            "preview_template",
            {"template": BRANCHING, "context": {"data": {"who": "Ann"}}, **data},
            blocking=True,
            return_response=True,
        )
        assert isinstance(response, dict)
        return str(response["text"])

    assert await preview(entity_id=PHONE) == "Звонок: Ann"
    assert await preview(entity_id="notify.sidebar") == "Ring: Ann"
    assert await preview() == "Ring: Ann"
    context = {"data": {"who": "Ann"}, "language": "en"}
    assert await preview(entity_id=PHONE, context=context) == "Ring: Ann"


@pytest.mark.parametrize("destinations", [[phone(), sidebar()]])
@pytest.mark.parametrize("routes", [[demo_route()]])
async def test_changing_home_assistants_language_is_followed(
    hass: HomeAssistant,
    legacy_notify_calls: list[ServiceCall],
    setup_integration: None,
) -> None:
    """Set to Russian in the settings while running: the next notification of a
    destination without a language of its own is Russian, without a reload."""
    await hass.config.async_update(language="ru")
    await hass.async_block_till_done()
    hass.bus.async_fire(DEMO_EVENT, {"who": "Ann"})
    await hass.async_block_till_done()
    assert [call.data["message"] for call in legacy_notify_calls] == ["Звонок: Ann"]
    assert sidebar_messages(hass) == ["Звонок: Ann"]
