"""Compiling and rendering one template, shared by Home Assistant's process and the
render worker processes.

Kept apart from `render` (which owns the worker pool) so a worker imports the
renderer without importing the pool that starts it: no import cycle.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import lru_cache
import time
from typing import Any

from jinja2 import TemplateSyntaxError
from jinja2.exceptions import TemplateError as JinjaTemplateError

from .models import OutputFormat
from .render_classify import renders_in_process
from .render_env import (
    _ENVIRONMENT,
    _ESCAPERS,
    _check_deadline,
    _compile_guarded,
    _cut,
    _MoveToWorker,
    _state,
)
from .render_errors import TemplateError

_COLLECT_BATCH = 64
# Compiled templates a worker process keeps.
_WORKER_CACHE_SIZE = 64


def _syntax_error(err: TemplateSyntaxError) -> TemplateError:
    return TemplateError(f"template syntax error on line {err.lineno}: {err.message}")


def validate_template(source: str) -> None:
    """Raise `TemplateError` when a template does not compile."""
    try:
        _ENVIRONMENT.parse(source)
    except TemplateSyntaxError as err:
        raise _syntax_error(err) from err
    except RecursionError as err:
        raise TemplateError("template syntax error: nested too deeply") from err


def _prepare(source: str) -> Any | None:
    """Parse and classify; return the compiled template when it may render here,
    None when it renders in a worker (compiling folds constants, which runs filters:
    only the worker compiles what could compute)."""
    try:
        tree = _ENVIRONMENT.parse(source)
    except TemplateSyntaxError as err:
        raise _syntax_error(err) from err
    except RecursionError as err:
        raise TemplateError("template syntax error: nested too deeply") from err
    if not renders_in_process(tree, _ENVIRONMENT.tests):
        return None
    return _compile_guarded(tree)


def _render_compiled(
    template: Any,
    context: Mapping[str, Any],
    output_format: OutputFormat,
    budget: float,
    max_output: int,
    *,
    slice_: float | None = None,
    deadline: float | None = None,
) -> str:
    """Render a compiled template in this thread within `budget` (or `slice_`),
    or by `deadline` (time.monotonic) when given."""
    state = _state
    state.move = slice_ is not None and slice_ < budget
    if deadline is None:
        # `move` implies a slice; the check says so to the type checker.
        deadline = time.monotonic() + (
            slice_ if state.move and slice_ is not None else budget
        )
    state.deadline = deadline
    state.budget = budget
    state.escape = _ESCAPERS[output_format]
    try:
        return _collect(
            template.root_render_func(template.new_context(context)), max_output
        )
    except TemplateError, _MoveToWorker, MemoryError:
        raise
    except (JinjaTemplateError, ArithmeticError, TypeError, ValueError) as err:
        raise TemplateError(f"template error: {err}") from err
    except RecursionError as err:
        raise TemplateError("template error: recursion too deep") from err
    except Exception as err:  # a KeyError in '%(a)s' % {}, an assertion in a filter
        raise TemplateError(f"template error: {type(err).__name__}: {err}") from err
    finally:
        state.deadline = state.escape = None
        state.move = False


def _collect(chunks: Iterator[str], max_output: int) -> str:
    # Checked per chunk: in-process, memory stays within one chunk of the limit.
    parts: list[str] = []
    size = 0
    for chunk in chunks:
        parts.append(chunk)
        size += len(chunk)
        if size > max_output:
            break
    if len(parts) >= _COLLECT_BATCH:
        _check_deadline()
    return _cut("".join(parts).strip(), max_output)


@lru_cache(maxsize=_WORKER_CACHE_SIZE)
def _compile_in_worker(source: str) -> Any:
    try:
        return _compile_guarded(source)
    except TemplateSyntaxError as err:
        raise _syntax_error(err) from err


def render_isolated(
    source: str,
    context: Mapping[str, Any],
    fmt: str,
    budget: float,
    max_output: int,
    *,
    deadline: float | None = None,
) -> str:
    """Compile and render in a worker process (see `render_worker`)."""
    try:
        template = _compile_in_worker(source)
    except TemplateError, MemoryError:
        raise
    except Exception as err:  # constant folding failed at compile time
        raise TemplateError(f"template error: {type(err).__name__}: {err}") from err
    return _render_compiled(
        template, context, OutputFormat(fmt), budget, max_output, deadline=deadline
    )
