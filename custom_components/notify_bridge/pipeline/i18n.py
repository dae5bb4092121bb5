"""Built-in texts in every supported language, with plural forms, numbers and dates.

One table (`TEXTS`) holds every sentence the bridge writes itself: digest headers and
summary lines, "… and N more", skipped-media notices, memories, bot answers. A text
is a format string, or, when it counts something, a mapping of CLDR plural
categories to format strings chosen by the `count` value. No dependency: Home
Assistant does not ship babel, and the two rules needed here are short.

Languages are the two the predecessor shipped (English, Russian); a destination's
stored `language` ("ru", "ru-RU", "ru_RU") picks one, anything else falls back to
the caller's default, then to English.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time
from string import Formatter
from typing import Any

from .i18n_texts import TEXTS, TextValue

DEFAULT_LANGUAGE = "en"
SUPPORTED_LANGUAGES: tuple[str, ...] = tuple(TEXTS)

# Plural categories each language distinguishes (CLDR, integers only).
PLURAL_CATEGORIES: Mapping[str, frozenset[str]] = {
    "en": frozenset({"one", "other"}),
    "ru": frozenset({"one", "few", "many"}),
}

# The order in which the `plural` template filter takes its forms.
PLURAL_ORDER: Mapping[str, tuple[str, ...]] = {
    "en": ("one", "other"),
    "ru": ("one", "few", "many"),
}

_MONTHS_GENITIVE_RU = (
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
)
_MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
# Group separators: a comma in English, a no-break space in Russian (CLDR), so a
# number never wraps across lines.
_GROUP_SEPARATOR = {"en": ",", "ru": "\u00a0"}


def resolve_language(value: str | None, fallback: str | None = None) -> str:
    """Return the supported language of a tag ("ru-RU" → "ru"), else the fallback's,
    else English."""
    for candidate in (value, fallback):
        if candidate:
            base = str(candidate).strip().replace("_", "-").split("-")[0].lower()
            if base in TEXTS:
                return base
    return DEFAULT_LANGUAGE


def destination_language(destination: object, fallback: str | None = None) -> str:
    """Return the language of a destination (its optional `language` attribute)."""
    return resolve_language(getattr(destination, "language", None), fallback)


def plural_category(language: str, count: int) -> str:
    """Return the CLDR plural category of an integer in a language."""
    n = abs(int(count))
    if language == "ru":
        if n % 10 == 1 and n % 100 != 11:
            return "one"
        if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
            return "few"
        return "many"
    return "one" if n == 1 else "other"


def plural_form(language: str | None, count: Any, forms: tuple[str, ...]) -> str:
    """Return the form of `forms` (in PLURAL_ORDER) that `count` takes; the last
    one when fewer are given, "" when none (a template's own words, any count)."""
    if not forms:
        return ""
    language = resolve_language(language)
    try:
        category = plural_category(language, int(count))
    except TypeError, ValueError, OverflowError:
        category = PLURAL_ORDER[language][-1]
    index = PLURAL_ORDER[language].index(category)
    return str(forms[min(index, len(forms) - 1)])


def format_number(value: int | float, language: str = DEFAULT_LANGUAGE) -> str:
    """Return a number with the language's digit grouping (10,000 / 10 000)."""
    language = resolve_language(language)
    if isinstance(value, float) and not value.is_integer():
        text = f"{value:,.1f}"
        if language == "ru":
            text = text.replace(",", _GROUP_SEPARATOR["ru"]).replace(".", ",")
        return text
    return f"{int(value):,}".replace(",", _GROUP_SEPARATOR[language])


def format_date(value: date, language: str = DEFAULT_LANGUAGE) -> str:
    """Return a date the way the language writes it in a sentence."""
    language = resolve_language(language)
    if language == "ru":
        # A Russian date ends with the abbreviation of "year".
        return f"{value.day} {_MONTHS_GENITIVE_RU[value.month - 1]} {value.year} г."  # noqa: RUF001
    return f"{_MONTHS_EN[value.month - 1]} {value.day}, {value.year}"


def format_time(value: time | datetime, language: str = DEFAULT_LANGUAGE) -> str:
    """Return a clock time; both languages use the 24-hour clock (HA's default)."""
    return f"{value.hour:02d}:{value.minute:02d}"


def format_datetime(value: datetime, language: str = DEFAULT_LANGUAGE) -> str:
    """Return a date with its time, in the value's own time zone."""
    return f"{format_date(value.date(), language)}, {format_time(value, language)}"


def text(key: str, language: str = DEFAULT_LANGUAGE, /, **values: Any) -> str:
    """Return the built-in text `key` in a language, filled with `values`.

    A plural text picks its form by `count`. Integers are written with the
    language's grouping; dates and datetimes in its format. Unknown keys raise
    KeyError: every key exists in every language (a test checks it).
    """
    language = resolve_language(language)
    chosen = _choose(TEXTS[language][key], language, values.get("count"))
    return chosen.format_map(
        {name: _format_value(value, language) for name, value in values.items()}
    )


def template_by_language(templates: Mapping[str, str]) -> str:
    """Join per-language Jinja templates into one that branches on `language`.

    For sources' default templates: `{"en": ..., "ru": ...}` becomes
    `{% if language == 'ru' %}...{% else %}<English>{% endif %}`; English (required)
    is the fallback for any other language.
    """
    english = templates[DEFAULT_LANGUAGE]
    others = [(lang, body) for lang, body in templates.items() if lang in TEXTS]
    branches = [(lang, body) for lang, body in others if lang != DEFAULT_LANGUAGE]
    if not branches:
        return english
    parts = [
        f"{{% {'if' if index == 0 else 'elif'} language == '{lang}' %}}{body}"
        for index, (lang, body) in enumerate(branches)
    ]
    return "".join(parts) + f"{{% else %}}{english}{{% endif %}}"


def placeholders(value: TextValue) -> frozenset[str]:
    """Return the placeholder names a text uses (all forms together)."""
    forms = value.values() if isinstance(value, Mapping) else (value,)
    return frozenset(
        name for form in forms for _, name, _, _ in Formatter().parse(form) if name
    )


def _choose(value: TextValue, language: str, count: Any) -> str:
    if not isinstance(value, Mapping):
        return value
    return value[plural_category(language, int(count or 0))]


def _format_value(value: Any, language: str) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return format_number(value, language)
    if isinstance(value, datetime):
        return format_datetime(value, language)
    if isinstance(value, date):
        return format_date(value, language)
    return value
