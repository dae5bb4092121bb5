"""Template rendering: one sandboxed Jinja2 environment for preview and delivery.

Why not Home Assistant's template engine: user templates here render untrusted event
data (a Gitea commit message, an album name) and must not reach HA state or services;
and a runaway template must end within a time budget instead of pinning a CPU.

How the budget is enforced without killing threads: every `for` loop body gets an
injected `_nb_tick()` call, and the sandbox's call/attribute/item hooks and the output
loop check the same deadline. Operators and filters that could build a huge value in
one C call (`*`, `**`, `+`, `center`, `indent`, `format`, `replace`) are capped first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Mapping
from functools import lru_cache
import math
import re
import threading
import time
from typing import Any

from jinja2 import TemplateSyntaxError
from jinja2.exceptions import SecurityError, TemplateError as JinjaTemplateError
from jinja2.ext import Extension
from jinja2.lexer import Token, TokenStream
from jinja2.runtime import ChainableUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup, escape

from .limits import (
    MAX_CONCURRENT_RENDERS,
    MAX_RENDER_OUTPUT,
    MAX_TEMPLATE_SEQUENCE,
    RENDER_TIME_BUDGET,
    TEMPLATE_CACHE_SIZE,
)
from .models import OutputFormat

TRUNCATION_MARK = "…"
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~])")
_FORMAT_WIDTH = re.compile(r"%[-+ 0#]*(\d+)")
_MAX_POWER_BITS = 100_000


class TemplateError(Exception):
    """A template could not be compiled or rendered; the message says why."""


class TemplateTimeoutError(TemplateError):
    """A render ran past its time budget."""


_deadline = threading.local()


def _check_deadline() -> None:
    """Raise once the current thread's render is past its budget."""
    deadline = getattr(_deadline, "at", None)
    if deadline is not None and time.monotonic() > deadline:
        raise TemplateTimeoutError(
            f"template rendering exceeded its time budget of {_deadline.budget:g} s"
        )


def _tick() -> str:
    """Check the deadline from inside a loop body; renders as nothing."""
    _check_deadline()
    return ""


def _guarded_range(*args: int) -> Iterator[int]:
    """`range` that checks the deadline while iterating."""
    for index, value in enumerate(range(*args)):
        if not index & 0xFF:
            _check_deadline()
        yield value


def _escape_markdown(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def _finalize_for(output_format: OutputFormat) -> Callable[[Any], str]:
    """Return how one `{{ value }}` is turned into text for a format.

    Values marked safe (`|safe`) are trusted as written in every format.
    """

    def finalize(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, Markup):
            return str(value)
        text = str(value)
        if output_format is OutputFormat.HTML:
            return str(escape(text))
        if output_format is OutputFormat.MARKDOWN:
            return _escape_markdown(text)
        return text

    return finalize


_FINALIZERS = {fmt: _finalize_for(fmt) for fmt in OutputFormat}
_format_state = threading.local()


def _finalize(value: Any) -> str:
    """Escape for the format of the render running on this thread."""
    return _FINALIZERS[getattr(_format_state, "fmt", OutputFormat.PLAIN)](value)


class _LoopGuard(Extension):
    """Inject `{{ _nb_tick() }}` at the start of every for-loop body."""

    def filter_stream(self, stream: TokenStream) -> Iterator[Token]:
        state: str | None = None
        for token in stream:
            yield token
            if token.type == "block_begin":
                state = "begin"
            elif state == "begin":
                state = "for" if token.test("name:for") else None
            elif token.type == "block_end" and state == "for":
                state = None
                line = token.lineno
                yield Token(line, "variable_begin", "{{")
                yield Token(line, "name", "_nb_tick")
                yield Token(line, "lparen", "(")
                yield Token(line, "rparen", ")")
                yield Token(line, "variable_end", "}}")


def _sized(value: Any) -> int | None:
    return len(value) if isinstance(value, str | bytes | list | tuple) else None


def _too_big(what: str) -> SecurityError:
    return SecurityError(
        f"{what} would exceed {MAX_TEMPLATE_SEQUENCE} elements; templates may not "
        "build values that large"
    )


class _BridgeSandbox(ImmutableSandboxedEnvironment):
    """Immutable sandbox with deadline checks and caps on value-amplifying operators."""

    intercepted_binops = frozenset({"*", "**", "+"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _check_deadline()
        if operator == "*":
            for seq, count in ((left, right), (right, left)):
                size = _sized(seq)
                if (
                    size is not None
                    and isinstance(count, int)
                    and size * count > MAX_TEMPLATE_SEQUENCE
                ):
                    raise _too_big("repetition")
        elif operator == "+":
            left_size, right_size = _sized(left), _sized(right)
            if (
                left_size is not None
                and right_size is not None
                and left_size + right_size > MAX_TEMPLATE_SEQUENCE
            ):
                raise _too_big("concatenation")
        elif (
            operator == "**"
            and isinstance(left, int)
            and isinstance(right, int)
            and abs(left) > 1
            and right * math.log2(abs(left)) > _MAX_POWER_BITS
        ):
            raise SecurityError("the power operator's result would be too large")
        return super().call_binop(context, operator, left, right)

    def unsafe_undefined(self, obj: Any, attribute: str) -> Any:
        # Fail loudly: an escape attempt must not render as an empty string.
        raise SecurityError(
            f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe"
        )

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _check_deadline()
        return super().call(__context, __obj, *args, **kwargs)

    def getattr(self, obj: Any, attribute: str) -> Any:
        _check_deadline()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _check_deadline()
        return super().getitem(obj, argument)


def _capped_width(width: int) -> int:
    if width > MAX_TEMPLATE_SEQUENCE:
        raise _too_big("padding")
    return width


def _build_environment() -> _BridgeSandbox:
    env = _BridgeSandbox(
        extensions=[_LoopGuard],
        undefined=ChainableUndefined,
        finalize=_finalize,
        autoescape=False,
        keep_trailing_newline=False,
    )
    base_filters = dict(env.filters)
    env.filters["center"] = lambda value, width=80: base_filters["center"](
        value, _capped_width(width)
    )
    env.filters["indent"] = lambda value, width=4, *args, **kwargs: base_filters[
        "indent"
    ](value, _capped_width(width) if isinstance(width, int) else width, *args, **kwargs)

    def capped_format(value: str, *args: Any, **kwargs: Any) -> str:
        for width in _FORMAT_WIDTH.findall(str(value)):
            _capped_width(int(width))
        return base_filters["format"](value, *args, **kwargs)

    def capped_replace(value: Any, old: str, new: str, count: int | None = None) -> str:
        text = str(value)
        hits = text.count(old) if old else len(text) + 1
        if len(text) + hits * len(new) > MAX_TEMPLATE_SEQUENCE:
            raise _too_big("replacement")
        return (
            text.replace(old, new) if count is None else text.replace(old, new, count)
        )

    env.filters["format"] = capped_format
    env.filters["replace"] = capped_replace
    # Curated globals: no lipsum (CPU-heavy), a deadline-checked range.
    env.globals = {
        "range": _guarded_range,
        "dict": dict,
        "namespace": env.globals["namespace"],
        "cycler": env.globals["cycler"],
        "joiner": env.globals["joiner"],
        "_nb_tick": _tick,
    }
    return env


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - len(TRUNCATION_MARK)] + TRUNCATION_MARK


# One sandboxed environment for the whole process: preview, validation and delivery
# compile with exactly the same rules.
_ENVIRONMENT = _build_environment()


def _syntax_error(err: TemplateSyntaxError) -> TemplateError:
    return TemplateError(f"template syntax error on line {err.lineno}: {err.message}")


def validate_template(source: str) -> None:
    """Raise `TemplateError` when a template does not compile."""
    try:
        _ENVIRONMENT.parse(source)
    except TemplateSyntaxError as err:
        raise _syntax_error(err) from err


class Renderer:
    """Compile (cached by template text) and render templates within a budget."""

    def __init__(
        self,
        *,
        time_budget: float = RENDER_TIME_BUDGET,
        max_concurrent: int = MAX_CONCURRENT_RENDERS,
        max_output: int = MAX_RENDER_OUTPUT,
        cache_size: int = TEMPLATE_CACHE_SIZE,
    ) -> None:
        """Create the environment; renders share one cap on concurrency."""
        self._time_budget = time_budget
        self._max_output = max_output
        self._slots = asyncio.Semaphore(max_concurrent)
        # Keyed by the template text itself: an edited template is a new key.
        self._compile = lru_cache(maxsize=cache_size)(_ENVIRONMENT.from_string)

    def _compiled(self, source: str) -> Any:
        try:
            return self._compile(source)
        except TemplateSyntaxError as err:
            raise _syntax_error(err) from err

    def render(
        self,
        source: str,
        context: Mapping[str, Any],
        output_format: OutputFormat = OutputFormat.PLAIN,
    ) -> str:
        """Render synchronously in the calling thread (a worker thread in HA)."""
        template = self._compiled(source)
        _deadline.at = time.monotonic() + self._time_budget
        _deadline.budget = self._time_budget
        _format_state.fmt = output_format
        try:
            return self._collect(template.generate(context))
        except TemplateError:
            raise
        except (JinjaTemplateError, ArithmeticError, TypeError, ValueError) as err:
            raise TemplateError(f"template error: {err}") from err
        except RecursionError as err:
            raise TemplateError("template error: recursion too deep") from err
        finally:
            _deadline.at = None
            _format_state.fmt = OutputFormat.PLAIN

    def _collect(self, chunks: Iterator[str]) -> str:
        parts: list[str] = []
        size = 0
        for chunk in chunks:
            parts.append(chunk)
            size += len(chunk)
            if size > self._max_output:
                break
            _check_deadline()
        return _cut("".join(parts).strip(), self._max_output)

    async def async_render(
        self,
        source: str,
        context: Mapping[str, Any],
        output_format: OutputFormat = OutputFormat.PLAIN,
    ) -> str:
        """Render in the default executor, at most `max_concurrent` at once."""
        async with self._slots:
            return await asyncio.get_running_loop().run_in_executor(
                None, self.render, source, context, output_format
            )
