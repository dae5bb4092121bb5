"""Template rendering: one sandboxed Jinja2 environment for preview and delivery.

Why not Home Assistant's template engine: user templates here render untrusted event
data (a Gitea commit message, an album name) and must not reach HA state or services;
and a runaway template must end within a time budget instead of pinning a CPU.

Where a template renders is decided once, on its parsed tree (`render_classify`):
- templates that only substitute values (attributes, items, `if`, `for` over the
  data, filters that are one linear pass) render here, in an executor thread, with a
  short time slice (`IN_PROCESS_SLICE`); a render that needs longer is abandoned
  and rendered again in a worker (renders have no side effects, so the result is the
  same);
- everything else (anything that can call, compute, format or loop on its own)
  renders in a worker process (`render_pool`) with a memory limit, a CPU limit and
  the budget, killed at the budget. A C-level runaway can hold the GIL of its own
  process only, never Home Assistant's.

Inside either, the sandbox still checks a deadline: every `for` loop body gets an
injected `_nb_tick()` call, and the call hooks and the output loop check it; operators
and filters that could build a huge value in one call are capped first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from enum import Enum, auto
from functools import lru_cache
from typing import Any, Final
import weakref

from .limits import (
    MAX_CONCURRENT_RENDERS,
    MAX_RENDER_OUTPUT,
    RENDER_TIME_BUDGET,
    TEMPLATE_CACHE_SIZE,
)
from .models import OutputFormat
from .render_core import (
    _prepare,
    _render_compiled,
    validate_template,
)
from .render_env import (
    TRUNCATION_MARK,
    _MoveToWorker,
    escape_text,
)
from .render_errors import TemplateError, TemplateTimeoutError
from .render_pool import RENDER_MEMORY_MB, WorkerPool

__all__ = [
    "TRUNCATION_MARK",
    "Renderer",
    "TemplateError",
    "TemplateTimeoutError",
    "escape_text",
    "validate_template",
]


# How long an in-process render may run before it moves to a worker process (s).
IN_PROCESS_SLICE = 0.05


class Renderer:
    """Compile (cached by template text) and render templates within a budget."""

    def __init__(
        self,
        *,
        time_budget: float = RENDER_TIME_BUDGET,
        max_concurrent: int = MAX_CONCURRENT_RENDERS,
        max_output: int = MAX_RENDER_OUTPUT,
        cache_size: int = TEMPLATE_CACHE_SIZE,
        memory_mb: int = RENDER_MEMORY_MB,
    ) -> None:
        """Renders share `max_concurrent` threads here and as many worker processes
        (started on first use, ended with the renderer or by `close`)."""
        self._time_budget = time_budget
        self._max_output = max_output
        self._slots = asyncio.Semaphore(max_concurrent)
        # Keyed by the template text itself: an edited template is a new key.
        self._prepare = lru_cache(maxsize=cache_size)(_prepare)
        self.workers = WorkerPool(max_concurrent, memory_mb)
        self._finalizer = weakref.finalize(self, self.workers.close)

    def close(self) -> None:
        """End the worker processes (a later render starts none: it fails)."""
        self._finalizer()

    def render(
        self,
        source: str,
        context: Mapping[str, Any],
        output_format: OutputFormat = OutputFormat.PLAIN,
    ) -> str:
        """Render synchronously (blocking: call from a worker thread in HA)."""
        [outcome] = self._render_here([(source, context, output_format)])
        if isinstance(outcome, Exception):
            raise outcome
        if outcome is _IN_WORKER:
            return self.workers.render(
                source, context, output_format, self._time_budget, self._max_output
            )
        return outcome

    def render_all(
        self, jobs: Sequence[tuple[str, Mapping[str, Any], OutputFormat]]
    ) -> list[str]:
        """Render several templates in one go."""
        return [self.render(*job) for job in jobs]

    def _render_here(
        self, jobs: Sequence[tuple[str, Mapping[str, Any], OutputFormat]]
    ) -> list[str | _InWorker | Exception]:
        """Render what may render in this process; mark the rest `_IN_WORKER`.
        Stops at the first error (later jobs would not be shown)."""
        outcomes: list[str | _InWorker | Exception] = []
        for source, context, output_format in jobs:
            try:
                template = self._prepare(source)
                if template is None:
                    outcomes.append(_IN_WORKER)
                    continue
                outcomes.append(
                    _render_compiled(
                        template,
                        context,
                        output_format,
                        self._time_budget,
                        self._max_output,
                        slice_=IN_PROCESS_SLICE,
                    )
                )
            except _MoveToWorker:
                outcomes.append(_IN_WORKER)
            except TemplateError as err:
                outcomes.append(err)
                break
            except MemoryError:  # not expected here (growth is bounded), but say so
                outcomes.append(TemplateError("template error: out of memory"))
                break
        return outcomes

    async def async_render(
        self,
        source: str,
        context: Mapping[str, Any],
        output_format: OutputFormat = OutputFormat.PLAIN,
    ) -> str:
        """Render without blocking the event loop."""
        [text] = await self.async_render_all([(source, context, output_format)])
        return text

    async def async_render_all(
        self, jobs: Sequence[tuple[str, Mapping[str, Any], OutputFormat]]
    ) -> list[str]:
        """Render several templates: in-process ones in one executor hop (at most
        `max_concurrent` at once), the others in worker processes."""
        async with self._slots:
            outcomes = await asyncio.get_running_loop().run_in_executor(
                None, self._render_here, jobs
            )
        texts: list[str] = []
        for (source, context, output_format), outcome in zip(
            jobs, outcomes, strict=False
        ):
            if isinstance(outcome, Exception):
                raise outcome
            texts.append(
                await self.workers.async_render(
                    source, context, output_format, self._time_budget, self._max_output
                )
                if outcome is _IN_WORKER
                else outcome
            )
        return texts


class _InWorker(Enum):
    """Marks a job that renders in a worker process (an enum so that `is` narrows)."""

    MARK = auto()


_IN_WORKER: Final = _InWorker.MARK
