# ruff: noqa: RUF001 -- Russian expectations are Cyrillic; the multiplication sign is meant
"""Built-in texts: complete in every language, Russian plurals, numbers and dates, and
the reader's language reaching templates, "… and N more" and quiet-hours digests."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time

import pytest

from custom_components.notify_bridge.pipeline.dispatch import Dispatcher
from custom_components.notify_bridge.pipeline.engine import Pipeline
from custom_components.notify_bridge.pipeline.i18n import (
    DEFAULT_LANGUAGE,
    PLURAL_CATEGORIES,
    SUPPORTED_LANGUAGES,
    format_date,
    format_number,
    placeholders,
    plural_category,
    resolve_language,
    template_by_language,
    text,
)
from custom_components.notify_bridge.pipeline.i18n_texts import TEXTS
from custom_components.notify_bridge.pipeline.models import (
    OutputFormat,
    Route,
    freeze,
)
from custom_components.notify_bridge.pipeline.policy import (
    DeliveryPolicy,
    QuietHours,
)

from .helpers import MemoryDestination, make_event


def test_every_language_has_every_key() -> None:
    """Key sets are identical across languages: no text falls back silently."""
    english = set(TEXTS[DEFAULT_LANGUAGE])
    assert set(SUPPORTED_LANGUAGES) == {"en", "ru"}
    for language in SUPPORTED_LANGUAGES:
        assert set(TEXTS[language]) == english, language


@pytest.mark.parametrize("language", ["en", "ru"])
def test_plural_texts_have_exactly_the_forms_of_their_language(language: str) -> None:
    """A counted text has every plural form its language needs, and no other."""
    for key, value in TEXTS[language].items():
        english = TEXTS[DEFAULT_LANGUAGE][key]
        # Counted in English ⇔ counted here.
        assert isinstance(value, dict) == isinstance(english, dict), key
        if isinstance(value, dict):
            assert set(value) == PLURAL_CATEGORIES[language], key


def test_placeholders_match_across_languages() -> None:
    """A translation uses exactly the values the caller passes (no KeyError, none
    dropped)."""
    for key, english in TEXTS["en"].items():
        assert placeholders(TEXTS["ru"][key]) == placeholders(english), key


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (1, "1 новая фотография"),
        (2, "2 новые фотографии"),
        (4, "4 новые фотографии"),
        (5, "5 новых фотографий"),
        (11, "11 новых фотографий"),
        (12, "12 новых фотографий"),
        (14, "14 новых фотографий"),
        (21, "21 новая фотография"),
        (22, "22 новые фотографии"),
        (25, "25 новых фотографий"),
        (101, "101 новая фотография"),
        (111, "111 новых фотографий"),
        (0, "0 новых фотографий"),
    ],
)
def test_russian_plural_forms(count: int, expected: str) -> None:
    """one / few / many as Russian counts them (11 to 14 are always many)."""
    assert text("immich.added_photos", "ru", count=count) == expected


def test_english_plural_forms() -> None:
    """English: 1 is singular, everything else plural (0 too)."""
    assert text("immich.added_photos", "en", count=1) == "1 new photo"
    assert text("immich.added_photos", "en", count=0) == "0 new photos"
    assert text("immich.added_photos", "en", count=21) == "21 new photos"


def test_plural_category_rule() -> None:
    """The Russian rule on the boundaries."""
    assert [plural_category("ru", n) for n in (1, 21, 31, 1001)] == ["one"] * 4
    assert [plural_category("ru", n) for n in (2, 3, 4, 23, 104)] == ["few"] * 5
    assert [plural_category("ru", n) for n in (5, 11, 12, 13, 14, 111, 0)] == (
        ["many"] * 7
    )


def test_numbers_and_dates_per_language() -> None:
    """Grouping and date order differ; a Russian month is in the genitive."""
    assert format_number(10_000, "en") == "10,000"
    assert format_number(10_000, "ru") == "10\u00a0000"
    assert format_number(2.5, "ru") == "2,5"
    assert format_date(date(2026, 12, 1), "en") == "December 1, 2026"
    assert format_date(date(2026, 3, 8), "ru") == "8 марта 2026 г."
    assert text("generic.events", "ru", count=10_000) == "10\u00a0000 событий"
    since = datetime(2026, 5, 9, 8, 5, tzinfo=UTC)
    assert text("schedule.nothing", "en", route="Doors", since=since) == (
        "Doors: nothing new since May 9, 2026, 08:05."
    )


@pytest.mark.parametrize(
    ("value", "fallback", "expected"),
    [
        ("ru", None, "ru"),
        ("ru-RU", None, "ru"),
        ("RU_ru", None, "ru"),
        ("en-GB", "ru", "en"),
        ("de", "ru", "ru"),
        ("de", "fr", "en"),
        (None, None, "en"),
        ("", "ru", "ru"),
        ("../../etc", None, "en"),
    ],
)
def test_language_resolution(value: str | None, fallback: str | None, expected: str):
    """A stored tag picks its base language; unknown ones fall back, then English."""
    assert resolve_language(value, fallback) == expected


def test_user_values_are_not_reformatted() -> None:
    """A route name with braces is inserted as written, never parsed as a format."""
    assert text("digest.earlier", "en", count=3) == "… and 3 earlier."
    header = text("digest.away_header", "en", count=2, route="{count} {0!r}")
    assert header == "While you were away: 2 notifications from {count} {0!r}."


ROUTE = Route(
    route_id="r1",
    name="Семья",
    source_entry_id="src",
    event_types=frozenset({"thing_happened"}),
    match=freeze({}),
    destinations=("en", "ru", "default"),
    template="{% if language == 'ru' %}Привет{% else %}Hello{% endif %} {{ who }}",
    title_template="{{ language }}",
)


async def test_templates_and_overflow_line_follow_each_readers_language() -> None:
    """One event, three readers: each template sees its reader's `language`, and the
    media overflow line is in that language; no language means the default."""
    dests = {
        "en": MemoryDestination("en", language="en"),
        "ru": MemoryDestination("ru", language="ru-RU"),
        "default": MemoryDestination("default", output_format=OutputFormat.HTML),
    }
    pipeline = Pipeline(dests.get)
    pipeline.default_language = "ru"
    pipeline.router.set_routes("src", [ROUTE])
    event = replace(make_event({"who": "Ann"}), media_overflow=3)
    await pipeline.async_handle_event(event)
    [en], [ru], [default] = (d.received for d in dests.values())
    assert (en.message, en.title) == ("Hello Ann\n\n… and 3 more", "en")
    assert (ru.message, ru.title) == ("Привет Ann\n\n… и ещё 3", "ru")
    assert (default.message, default.title) == ("Привет Ann\n\n… и ещё 3", "ru")


async def test_quiet_hours_digest_is_in_the_readers_language() -> None:
    """The "While you were away" digest and its "earlier" tail speak Russian to a
    Russian reader."""
    now = datetime(2025, 1, 6, 23, 0, tzinfo=UTC)
    clock = [now]
    policy = DeliveryPolicy(clock=lambda: clock[0])
    dest = MemoryDestination("ru", language="ru")
    pipeline = Pipeline({"ru": dest}.get, dispatcher=Dispatcher(policy=policy))
    policy.set_quiet_hours("ru", QuietHours(time(22, 0), time(7, 0)))
    pipeline.router.set_routes(
        "src", [replace(ROUTE, destinations=("ru",), template="{{ who }}")]
    )
    for index in range(7):
        await pipeline.async_handle_event(make_event({"who": f"m{index}"}))
    clock[0] = now.replace(day=7, hour=7)
    assert await pipeline.async_flush_waiting() == 7
    [digest] = dest.received
    assert digest.message.startswith("Пока вас не было: 7 уведомлений от «Семья».")
    assert digest.message.endswith("m6\n\n… и ещё 2 ранее.")


async def test_template_by_language_branches_on_the_readers_language() -> None:
    """A default template written per language renders in each reader's; an unknown
    language key is ignored and English is the fallback."""
    template = template_by_language(
        {"en": "{{ n }} new", "ru": "{{ n }} новых", "xx": "{% broken"}
    )
    dests = {
        "en": MemoryDestination("en", language="en"),
        "ru": MemoryDestination("ru", language="ru"),
    }
    pipeline = Pipeline(dests.get)
    pipeline.router.set_routes(
        "src", [replace(ROUTE, destinations=("en", "ru"), template=template)]
    )
    await pipeline.async_handle_event(make_event({"n": 5}))
    assert [n.message for n in dests["en"].received] == ["5 new"]
    assert [n.message for n in dests["ru"].received] == ["5 новых"]
    assert template_by_language({"en": "only"}) == "only"
