"""The sandboxed renderer: escaping per format, caching, budgets, hostile templates."""

from __future__ import annotations

import asyncio
import time

import pytest

from custom_components.notify_bridge.pipeline.models import OutputFormat
from custom_components.notify_bridge.pipeline.render import (
    Renderer,
    TemplateError,
    TemplateTimeoutError,
    validate_template,
)


@pytest.fixture
def renderer() -> Renderer:
    """A renderer with a short budget so timeouts are quick to test."""
    return Renderer(time_budget=0.3, max_output=200)


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        (OutputFormat.PLAIN, "<b>a_b*</b> | <i>"),
        (OutputFormat.HTML, "&lt;b&gt;a_b*&lt;/b&gt; | <i>"),
        (OutputFormat.MARKDOWN, r"\<b\>a\_b\*\</b\> | <i>"),
    ],
)
def test_values_escaped_per_format(
    renderer: Renderer, fmt: OutputFormat, expected: str
) -> None:
    """Values are escaped for the format; the template's own text and |safe are not."""
    text = renderer.render(
        "{{ v }} | {{ raw | safe }}", {"v": "<b>a_b*</b>", "raw": "<i>"}, fmt
    )
    assert text == expected


def test_none_and_missing_render_empty(renderer: Renderer) -> None:
    """None and undefined values render as nothing, even chained."""
    assert (
        renderer.render(
            "[{{ none_value }}{{ missing.deep.key }}]", {"none_value": None}
        )
        == "[]"
    )


def test_edited_template_is_never_stale(renderer: Renderer) -> None:
    """The cache is keyed by template text, so an edit takes effect at once."""
    assert renderer.render("A {{ x }}", {"x": 1}) == "A 1"
    assert renderer.render("B {{ x }}", {"x": 1}) == "B 1"
    assert renderer.render("A {{ x }}", {"x": 2}) == "A 2"


def test_output_is_cut(renderer: Renderer) -> None:
    """Oversized output is cut to the limit with a mark."""
    text = renderer.render("{% for i in range(1000) %}xxxxxxxxxx{% endfor %}", {})
    assert len(text) == 200
    assert text.endswith("…")


@pytest.mark.parametrize(
    "template",
    [
        "{% for i in range(10**9) %}{% endfor %}",
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}",
    ],
)
def test_runaway_loops_end_within_budget(renderer: Renderer, template: str) -> None:
    """Loops that would run for hours end at the budget with a clear error."""
    started = time.monotonic()
    with pytest.raises(TemplateTimeoutError, match="time budget of 0.3 s"):
        renderer.render(template, {"s": "x" * 50_000})
    # The budget counts from when a ready worker has the request; a first render also
    # starts the worker process, which takes a while on a loaded machine. The point is
    # "seconds, not hours" (the exact bound is measured in benchmarks/hostile.py).
    assert time.monotonic() - started < 5.0


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{ ''.__class__.__mro__ }}", "unsafe"),
        ("{{ cycler.__init__.__globals__ }}", "unsafe"),
        ("{{ namespace.__init__.__globals__['os'] }}", "unsafe"),
        ("{{ x.__class__.__subclasses__() }}", "unsafe"),
        ("{{ 'x' * 10**9 }}", "repetition"),
        ("{{ [1] * 10**9 }}", "repetition"),
        ("{% set s = 'x' * 90000 %}{{ s + s }}", "concatenation"),
        ("{{ 7 ** 100000000 }}", "power"),
        ("{{ 'a' | center(10**9) }}", "padding"),
        ("{{ 'a' | indent(10**9) }}", "padding"),
        ("{{ '%0999999999d' | format(1) }}", "padding"),
        ("{{ ('x' * 1000) | replace('', 'y' * 1000) }}", "replacement"),
        ("{{ lipsum(10**6) }}", "undefined"),
        ("{{ range(99999) | join('x' * 9999) }}", "join"),
        ("{{ '%0300000000d' % 1 }}", "padding"),
        ("{{ '%.999999999f' % 1 }}", "padding"),
        ("{{ '%*d' % (10**9, 1) }}", "width"),
        ("{{ '%(a)50000000d' % {'a': 1} }}", "padding"),
        ("{{ '{:>50000000}'.format('x') }}", "padding"),
        ("{{ '{a:>50000000}'.format_map({'a': 1}) }}", "padding"),
        ("{{ ('\\n' * 99999) | indent(1000, true, true) }}", "padding"),
        ("{{ ('a b ' * 10000) | wordwrap(1, true, 'x' * 1000) }}", "padding"),
        (
            "{% set ns = namespace(s='x' * 60000) %}{% for i in range(16) %}"
            "{% set ns.s = '%s%s' % (ns.s, ns.s) %}{% endfor %}",
            "formatting",
        ),
        (
            "{% macro d(s) %}{{ s }}{{ s }}{% endmacro %}"
            "{% set ns = namespace(s='x' * 60000) %}{% for i in range(16) %}"
            "{% set ns.s = d(ns.s) %}{% endfor %}",
            "concatenation",
        ),
        (
            "{% set ns = namespace(s='x' * 60000) %}{% for i in range(16) %}"
            "{% set t %}{{ ns.s }}{{ ns.s }}{% endset %}{% set ns.s = t %}{% endfor %}",
            "concatenation",
        ),
        ("{{ '%(a)s' % {} }}", "KeyError"),
        ("{{ '{0} {1}'.format('x') }}", "IndexError"),
        ("{{ 'abc' | truncate(1) }}", "AssertionError"),
        (
            "{% set ns = namespace(s='x' * 60000) %}{% for i in range(30) %}"
            "{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
            "concatenation",
        ),
        ("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", "recursion"),
        ("{{ 1 / 0 }}", "division"),
        ("{{ d.pop('k') }}", "unsafe"),
    ],
)
def test_hostile_templates_fail_cleanly(
    renderer: Renderer, template: str, message: str
) -> None:
    """Escapes and amplification attempts end in a TemplateError that says why."""
    with pytest.raises(TemplateError, match=message):
        renderer.render(template, {"x": 1, "d": {"k": 1}})


def test_syntax_errors_name_the_line() -> None:
    """Compile errors say where."""
    with pytest.raises(TemplateError, match="line 2"):
        validate_template("ok\n{% if %}")
    with pytest.raises(TemplateError, match="syntax error"):
        Renderer().render("{{", {})


def test_allowed_helpers_work(renderer: Renderer) -> None:
    """Everyday template features still work inside the sandbox."""
    template = (
        "{% set ns = namespace(n=0) %}{% for i in range(3) %}{% set ns.n = ns.n + i %}{% endfor %}"
        "{{ ns.n }} {{ dict(a=1).a }} {{ 'a,b' | replace(',', ';') }} {{ 'x' | center(3) }}| "
        "{{ '%03d' | format(7) }} {{ 2 ** 10 }} {{ [1, 2] + [3] }} {{ 'ab' * 2 }} "
        "{{ [1, 2] | join('-') }} {{ '%05.1f' % 2.25 }} {{ 'a' ~ 1 }} "
        "{{ '{} {}'.format(1, 2) }} {% macro m(n) %}<{{ n }}>{% endmacro %}{{ m(3) }}"
    )
    assert (
        renderer.render(template, {})
        == "3 1 a;b  x | 007 1024 [1, 2, 3] abab 1-2 002.2 a1 1 2 <3>"
    )


async def test_async_render_caps_concurrency() -> None:
    """Renders run in worker threads, at most max_concurrent at once."""
    renderer = Renderer(max_concurrent=1, time_budget=0.2)
    slow = "{% for i in range(10**9) %}{% endfor %}"
    started = time.monotonic()
    results = await asyncio.gather(
        renderer.async_render(slow, {}),
        renderer.async_render(slow, {}),
        return_exceptions=True,
    )
    assert all(isinstance(result, TemplateTimeoutError) for result in results)
    # One at a time: the second waited for the first.
    assert time.monotonic() - started >= 0.4
