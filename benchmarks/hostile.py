"""Hostile-template benchmark: what a runaway template costs Home Assistant.

(a) Every template of the hostile corpus (tests/pipeline/test_render_isolation.py:
    nested format specs, repeated fields, growing string methods, uncapped filters,
    big-integer chains, range|list, recursion, endless loops) is rendered through
    `Renderer.async_render` while a ticker task measures event-loop lag (how late a
    5 ms sleep wakes up). The same ticker runs first with nothing rendering: that is
    the scheduler's noise on this machine.
(b) Peak memory: growth of a worker's resident memory over one render, and of this
    process over the whole corpus.
(c) Starvation: two runaways hold both workers; how long a harmless preview and the
    Gitea push template then take.
(d) Nothing left busy: the processes of killed workers are gone.

Run: .venv/bin/python benchmarks/hostile.py — the last line is one JSON object.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
import resource
import sys
import time

# Import from the repository, never from this folder (telegram.py here would shadow
# the python-telegram-bot package).
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from custom_components.notify_bridge.pipeline.render import Renderer, TemplateError
from custom_components.notify_bridge.sources.gitea import DEFAULT_TEMPLATES
from tests.pipeline.test_render_isolation import HOSTILE, HOSTILE_CONTEXT, RUNAWAY

BUDGET = 1.0
TICK = 0.005
PUSH_CONTEXT = {
    "pusher": "alice",
    "commit_count": 2,
    "repository": "home/automation",
    "branch": "main",
    "commits": [
        {"short_id": "abcdef1", "title": "Fix the sink", "author": "Bob"},
        {"short_id": "1234567", "title": "Add a tap", "author": "Eve"},
    ],
}


class Ticker:
    """Records how late the event loop wakes a sleeper, while running."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while not self._stop.is_set():
            started = time.perf_counter()
            await asyncio.sleep(TICK)
            self.lags.append(time.perf_counter() - started - TICK)

    async def __aenter__(self) -> Ticker:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._stop.set()
        assert self._task is not None
        await self._task

    def worst_ms(self) -> float:
        return round(max(self.lags) * 1e3, 1)

    def p99_ms(self) -> float:
        ordered = sorted(self.lags)
        return round(ordered[int(len(ordered) * 0.99)] * 1e3, 1)


async def run_corpus(renderer: Renderer) -> dict[str, object]:
    worst_render = 0.0
    clean = 0
    for name, template in HOSTILE.items():
        started = time.monotonic()
        try:
            await renderer.async_render(template, HOSTILE_CONTEXT)
        except TemplateError as err:
            clean += 1
            outcome = str(err)[:70]
        else:
            outcome = "RENDERED (not hostile?)"
        elapsed = time.monotonic() - started
        worst_render = max(worst_render, elapsed)
        print(f"    {elapsed:5.2f} s  {name}: {outcome}")
    return {"clean": clean, "worst_render_s": round(worst_render, 2)}


async def starvation(renderer: Renderer) -> tuple[float, float]:
    runaways = [
        asyncio.create_task(renderer.async_render(RUNAWAY, {})) for _ in range(2)
    ]
    await asyncio.sleep(0.3)  # both workers are now busy with a runaway
    started = time.perf_counter()
    await renderer.async_render("{{ x }}", {"x": "preview"})
    preview_ms = (time.perf_counter() - started) * 1e3
    started = time.perf_counter()
    await renderer.async_render(DEFAULT_TEMPLATES["push"], PUSH_CONTEXT)
    push_ms = (time.perf_counter() - started) * 1e3
    await asyncio.gather(*runaways, return_exceptions=True)
    return round(preview_ms, 2), round(push_ms, 2)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def main() -> None:
    renderer = Renderer(time_budget=BUDGET)
    await renderer.async_render("{{ range(1) | list }}", {})  # warm workers
    async with Ticker() as idle:
        await asyncio.sleep(5)
    print(f"(a) idle loop lag: worst {idle.worst_ms()} ms, p99 {idle.p99_ms()} ms")
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    pids_seen = set(renderer.workers.pids())
    async with Ticker() as busy:
        corpus = await run_corpus(renderer)
        pids_seen |= set(renderer.workers.pids())
    parent_mb = (
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before
    ) / 1024
    print(
        f"    corpus: {corpus['clean']}/{len(HOSTILE)} ended with a template error; "
        f"slowest {corpus['worst_render_s']} s (budget {BUDGET} s); loop lag worst "
        f"{busy.worst_ms()} ms, p99 {busy.p99_ms()} ms (target ≤ 50 ms)"
    )
    peak_mb = renderer.workers.peak_memory_kb / 1024
    print(
        f"(b) peak memory: worker {peak_mb:.1f} MB per render (limit "
        f"{renderer.workers.memory_mb} MB of address space); this process "
        f"{parent_mb:.1f} MB"
    )
    preview_ms, push_ms = await starvation(renderer)
    print(f"(c) behind two runaways: preview {preview_ms} ms, Gitea push {push_ms} ms")
    live_pids = set(renderer.workers.pids())
    left = sorted(pid for pid in pids_seen - live_pids if alive(pid))
    renderer.close()
    left += sorted(pid for pid in live_pids if alive(pid))
    print(f"(d) worker processes still running after kill/close: {len(left)}")
    print(
        json.dumps(
            {
                "template_worst_loop_lag_ms": busy.worst_ms(),
                "template_p99_loop_lag_ms": busy.p99_ms(),
                "idle_worst_loop_lag_ms": idle.worst_ms(),
                "template_peak_mb": round(peak_mb, 1),
                "template_memory_limit_mb": renderer.workers.memory_mb,
                "parent_peak_growth_mb": round(parent_mb, 1),
                "hostile_templates": len(HOSTILE),
                "hostile_failed_cleanly": corpus["clean"],
                "template_worst_render_s": corpus["worst_render_s"],
                "render_budget_s": BUDGET,
                "preview_behind_runaways_ms": preview_ms,
                "push_behind_runaways_ms": push_ms,
                "workers_left_running": len(left),
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
