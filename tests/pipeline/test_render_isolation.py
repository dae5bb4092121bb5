"""Templates cannot hurt Home Assistant: hostile ones render in killable worker
processes with a memory and CPU limit; substitution-only ones keep the fast path."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Iterator
from datetime import UTC, datetime
from enum import StrEnum
import gc
import os
import resource
import signal
import time
from types import MappingProxyType
from typing import Any

from markupsafe import Markup
import pytest

from custom_components.notify_bridge.pipeline.models import OutputFormat
from custom_components.notify_bridge.pipeline.render import (
    Renderer,
    TemplateError,
    TemplateTimeoutError,
)
from custom_components.notify_bridge.pipeline.render_classify import (
    renders_in_process,
)
from custom_components.notify_bridge.pipeline.render_env import _ENVIRONMENT
from custom_components.notify_bridge.pipeline.render_pool import RENDER_MEMORY_MB
from custom_components.notify_bridge.sources.gitea import (
    DEFAULT_TEMPLATES as GITEA_TEMPLATES,
)
from custom_components.notify_bridge.sources.immich.routes import (
    DEFAULT_TEMPLATES as IMMICH_TEMPLATES,
)
from custom_components.notify_bridge.sources.planka import (
    DEFAULT_TEMPLATES as PLANKA_TEMPLATES,
)

BUDGET = 1.0
# Each of these built 10^7-10^8 elements or hundreds of MB, or never ends.
HOSTILE = {
    "nested format spec": "{{ '{0:{1}}'.format('x', '>999999999') }}",
    "repeated str.format field": "{{ ('{0}' * 20000).format('x' * 50000) }}",
    "repeated % field": "{{ ('%(a)s' * 10000) % {'a': 'x' * 50000} }}",
    "repeated format filter field": "{{ ('%(a)s' * 10000) | format(a='x' * 50000) }}",
    "ljust": "{{ 'x'.ljust(999999999) }}",
    "rjust": "{{ 'x'.rjust(999999999) }}",
    "center method": "{{ 'x'.center(999999999) }}",
    "zfill": "{{ '1'.zfill(999999999) }}",
    "expandtabs": "{{ ('\\t' * 90000).expandtabs(99999) }}",
    "replace method": "{{ ('x' * 90000).replace('x', 'y' * 90000) }}",
    "join method": "{{ ('y' * 90000).join(['x' * 90000] * 5000) }}",
    "translate": "{{ ('x' * 90000).translate({120: 'y' * 90000}) }}",
    "tojson indent": "{{ [1, 2, 3] | tojson(indent=999999999) }}",
    "batch": "{{ range(10) | batch(999999999, 'x') | list }}",
    "slice": "{{ range(10) | slice(999999999) | list }}",
    "big integer chain": (
        "{% set ns = namespace(n=10**30000) %}{% for i in range(40) %}"
        "{% set ns.n = ns.n * ns.n %}{% endfor %}{{ ns.n > 0 }}"
    ),
    "big integer squares": "{% set a = 10**30000 %}"
    + "{% set a = a * a %}" * 12
    + "{{ a > 0 }}",
    # Jinja's ** is left-associative: 9**9**9 is (9**9)**9, which is harmless.
    "power tower": "{{ 9**(9**9) }}",
    "huge power": "{{ 10**(10**8) }}",
    "power by multiplication": "{{ (10**9) * (10**9) * 10**(10**7) }}",
    "range list": "{{ range(10**9) | list }}",
    "string times huge": "{{ 'x' * 10**9 }}",
    "macro recursion": "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}",
    "recursive loop": "{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}",
    "endless loop": "{% for i in range(10**9) %}{% endfor %}",
    "nested loops over data": "{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}",
}
HOSTILE_CONTEXT = {"s": "x" * 50_000}
# Ends only when killed: a single C-level call (no deadline check can run).
RUNAWAY = HOSTILE["big integer squares"]


@pytest.fixture
def renderer() -> Iterator[Renderer]:
    """A renderer with today's budget; its workers end with the test."""
    renderer = Renderer(time_budget=BUDGET)
    yield renderer
    renderer.close()


def _in_process(source: str) -> bool:
    return renders_in_process(_ENVIRONMENT.parse(source), _ENVIRONMENT.tests)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize(
    "template",
    [*GITEA_TEMPLATES.values(), *IMMICH_TEMPLATES.values(), *PLANKA_TEMPLATES.values()],
)
def test_default_templates_keep_the_fast_path(template: str) -> None:
    """The templates the sources ship with render in Home Assistant's process."""
    assert _in_process(template)


@pytest.mark.parametrize(
    ("template", "in_process"),
    [
        ("{{ a.b[0] | upper }} {{ c | default(d) | truncate(9) }}", True),
        ("{% for k, v in d.items() %}{{ k }}={{ v }}{% endfor %}", True),
        ("{{ s | replace('refs/heads/', '') }}", True),
        ("{{ n - m }} {{ 'x' ~ s }}", True),
        # A growing operation on a grown value could grow exponentially.
        ("{{ s | tojson | tojson }}", False),
        ("{% set t = s | replace('a', 'aa') %}{{ t | replace('a', 'aa') }}", False),
        ("{{ s | replace('', 'x') }}", False),
        ("{{ s | join('x' * 20) }}", False),
        ("{{ 5 | round(-99) }}", False),
        ("{{ [s, s, s] | string }}", False),
        ("{{ s.ljust(9) }}", False),
        ("{{ n * 2 }}", False),
        ("{{ n + 1 }}", False),
        ("{{ range(3) | list }}", False),
        ("{% set x %}{{ s }}{% endset %}{{ x }}", False),
        ("{{ s | tojson(indent=2) }}", False),
    ],
)
def test_classification(template: str, in_process: bool) -> None:
    """Only substitution with linear, non-chained growth stays in-process."""
    assert _in_process(template) is in_process


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_template_is_isolated(name: str) -> None:
    """Every hostile case renders in a worker process, never here."""
    if name == "nested loops over data":
        # Linear steps only: it starts here and moves to a worker after its slice.
        assert _in_process(HOSTILE[name])
    else:
        assert not _in_process(HOSTILE[name])


async def _ticker(lags: list[float], stop: asyncio.Event) -> None:
    """Measure how late the event loop wakes a 5 ms sleeper."""
    while not stop.is_set():
        started = time.perf_counter()
        await asyncio.sleep(0.005)
        lags.append(time.perf_counter() - started - 0.005)


async def test_hostile_corpus_ends_cleanly_without_blocking_the_loop(
    renderer: Renderer,
) -> None:
    """Each hostile template ends with a template error within its budget, the
    event loop never waits more than 50 ms, a worker's memory stays bounded."""
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    await renderer.async_render("{{ range(1) | list }}", {})  # start a warm worker
    lags: list[float] = []
    stop = asyncio.Event()
    ticker = asyncio.create_task(_ticker(lags, stop))

    async def one(template: str) -> float:
        started = time.monotonic()
        with pytest.raises(TemplateError):
            await renderer.async_render(template, HOSTILE_CONTEXT)
        return time.monotonic() - started

    try:
        for template in HOSTILE.values():
            elapsed = await one(template)
            # Ends near the budget; the slack covers a worker restarted on a loaded
            # machine (the exact figures are measured in benchmarks/hostile.py).
            assert elapsed < BUDGET + 2.0, template
    finally:
        stop.set()
        await ticker
    # Nothing here blocks the loop (it only awaits); what remains is the scheduler
    # of a shared machine, which can delay a wake-up by tens of ms now and then.
    # Before, single renders blocked it for 0.1-1.9 s.
    lags.sort()
    # Bounds well under the 0.1-1.9 s blocks a render on the loop caused, with room
    # for a busy CI machine (benchmarks/hostile.py measures the real worst lag).
    assert lags[int(len(lags) * 0.99)] < 0.1
    assert lags[-1] < 0.5
    assert 0 < renderer.workers.peak_memory_kb <= RENDER_MEMORY_MB * 1024
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before
    assert grown_kb < 32 * 1024  # none of it was built in this process


async def test_runaways_do_not_starve_normal_renders(renderer: Renderer) -> None:
    """Two runaways hold both workers; substitution templates still render at once."""
    runaways = [
        asyncio.create_task(renderer.async_render(RUNAWAY, {})) for _ in range(2)
    ]
    await asyncio.sleep(0.3)
    started = time.monotonic()
    push = GITEA_TEMPLATES["push"]
    context = {"pusher": "alice", "commit_count": 1, "repository": "home/a"}
    text = await renderer.async_render(push, context)
    preview = await renderer.async_render("{{ x }}", {"x": "hello"})
    waited = time.monotonic() - started
    assert text.startswith("alice pushed 1 commit to home/a")
    assert preview == "hello"
    # Before: 4 s (both render slots held by the runaways). Now only the machine's
    # scheduler stands between them and their thread.
    assert waited < 0.25
    for task in runaways:
        with pytest.raises(TemplateTimeoutError, match="time budget of 1 s"):
            await task


def test_runaway_is_killed_at_the_budget_and_replaced() -> None:
    """A C-level runaway is killed at the budget (no CPU left busy); the next
    render gets a fresh warm worker.

    The budget leaves room for a loaded machine: a worker that only starts the
    template after its deadline reports the timeout itself and is not killed,
    which is right but not the path under test."""
    renderer = Renderer(time_budget=1.0, max_concurrent=1)
    try:
        assert renderer.render("{{ range(2) | list }}", {}) == "[0, 1]"
        [pid] = renderer.workers.pids()
        started = time.monotonic()
        with pytest.raises(TemplateTimeoutError, match=r"time budget of 1 s"):
            renderer.render(RUNAWAY, {})
        assert time.monotonic() - started < 1.4
        assert not _alive(pid)
        [replacement] = renderer.workers.pids()
        assert replacement != pid
        assert renderer.render("{{ range(3) | list }}", {}) == "[0, 1, 2]"
    finally:
        renderer.close()


def test_memory_limit_ends_the_render() -> None:
    """A render that needs more than the memory limit fails and says why."""
    renderer = Renderer(memory_mb=32)
    try:
        with pytest.raises(TemplateError, match="memory limit of 32 MB"):
            renderer.render("{{ 'x'.ljust(100000000) }}", {})
        assert renderer.render("{{ 'x'.ljust(3) }}|", {}) == "x  |"
    finally:
        renderer.close()


def test_workers_end_with_the_renderer() -> None:
    """Closing (or dropping) the renderer ends its workers; nothing is left running."""
    renderer = Renderer()
    renderer.render("{{ range(2) | list }}", {})
    pids = renderer.workers.pids()
    renderer.close()
    assert pids
    assert not any(_alive(pid) for pid in pids)
    with pytest.raises(TemplateError, match="closed"):
        renderer.render("{{ range(2) | list }}", {})

    dropped = Renderer()
    dropped.render("{{ range(2) | list }}", {})
    pids = dropped.workers.pids()
    del dropped
    gc.collect()
    assert not any(_alive(pid) for pid in pids)


class _Color(StrEnum):
    RED = "red"


class _State:
    """Stands in for an object Home Assistant puts in event data (a `State`)."""

    def __init__(self) -> None:
        self.entity_id = "light.kitchen"
        self.state = "on"
        self.attributes = {"brightness": 200}

    def __str__(self) -> str:
        return f"<state {self.entity_id}={self.state}>"

    def as_dict(self) -> dict[str, Any]:
        return {"state": self.state}


CONTEXT = {
    "data": MappingProxyType(
        {
            "repository": {"full_name": "home/<automation>"},
            "commits": ({"id": "abcdef123", "message": "Fix *this* & _that_"},),
            "when": datetime(2026, 1, 2, 3, 4, tzinfo=UTC),
            "none": None,
            "count": 3,
        }
    ),
    "new_state": _State(),
    "markup": Markup("<b>trusted</b>"),
    "ordered": OrderedDict(a=1),
    "fmt": OutputFormat.HTML,
    "color": _Color.RED,
}
SAME_ANYWHERE = [
    "{{ data }}",
    "{{ data.repository.full_name }} {{ data.commits[0].message }} {{ data.when }}",
    "{% for c in data.commits %}{{ c.id[:7] }} {{ c.message | upper }}{% endfor %}",
    "{{ data.commits | tojson }} {{ data.count - 1 }} {{ data.none }}|",
    "{{ new_state.state }} {{ new_state.attributes.brightness }} {{ new_state }}",
    "{{ data.commits[0].message | e }} {{ data.repository | safe }}",
    "{{ data.missing.deep }}|{{ data.when.year }}",
    "{{ markup }} {{ ordered }} {{ fmt }} {{ color }} {{ color == 'red' }}",
]


@pytest.mark.parametrize("fmt", list(OutputFormat))
@pytest.mark.parametrize("template", SAME_ANYWHERE)
def test_worker_renders_exactly_as_in_process(
    renderer: Renderer, template: str, fmt: OutputFormat
) -> None:
    """The same template and data render identically in a worker, in every format."""
    assert _in_process(template)
    here = renderer.render(template, CONTEXT, fmt)
    there = renderer.workers.render(template, CONTEXT, fmt, BUDGET, 32_768)
    assert there == here


def test_slow_in_process_render_moves_to_a_worker() -> None:
    """A substitution template that runs past its slice still renders (in a worker)."""
    renderer = Renderer(time_budget=10)
    template = "{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}done"
    assert _in_process(template)
    try:
        assert renderer.render(template, {"s": "x" * 1500}) == "done"
        assert renderer.workers.pids()
    finally:
        renderer.close()


async def test_batch_keeps_order_and_first_error(renderer: Renderer) -> None:
    """Jobs split between the two paths come back in order; the first error wins."""
    jobs = [
        ("{{ x }}", {"x": 1}, OutputFormat.PLAIN),
        ("{{ range(x) | list }}", {"x": 2}, OutputFormat.PLAIN),
        ("{{ x }}!", {"x": 3}, OutputFormat.PLAIN),
    ]
    assert await renderer.async_render_all(jobs) == ["1", "[0, 1]", "3!"]
    failing = [
        jobs[0],
        ("{{ 1 / 0 }}", {}, OutputFormat.PLAIN),
        ("{{ x.y(", {}, OutputFormat.PLAIN),
    ]
    with pytest.raises(TemplateError, match="division"):
        await renderer.async_render_all(failing)


async def test_worker_that_dies_is_a_template_error_and_replaced() -> None:
    """A worker ending mid-render (crash, OOM killer) fails that render clearly;
    the next render gets a new worker."""
    renderer = Renderer(time_budget=5, max_concurrent=1)
    try:
        await renderer.async_render("{{ range(1) | list }}", {})
        [pid] = renderer.workers.pids()
        render = asyncio.create_task(renderer.async_render(RUNAWAY, {}))
        await asyncio.sleep(0.3)
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(TemplateError, match="render process ended"):
            await render
        assert await renderer.async_render("{{ range(2) | list }}", {}) == "[0, 1]"
        assert pid not in renderer.workers.pids()
    finally:
        renderer.close()
