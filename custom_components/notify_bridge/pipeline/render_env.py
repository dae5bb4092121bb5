"""The sandboxed Jinja2 environment and its caps, shared by both render paths.

The deadline is per thread (`_state`): every `for` loop body gets an injected
`_nb_tick()` call, and the sandbox's call hooks check it. Operators and filters that
could build a huge value in one C call (`*`, `**`, `+`, `%`, `center`, `indent`,
`format`, `replace`, `join`, `~`) are capped first; in a worker process these caps
only make the error clearer, the process limits are what hold.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
import math
import re
import threading
import time
from types import MappingProxyType
from typing import Any

from jinja2 import nodes, pass_context, pass_environment, pass_eval_context
from jinja2.exceptions import SecurityError
from jinja2.ext import Extension
from jinja2.filters import sync_do_join
from jinja2.lexer import Token, TokenStream
from jinja2.runtime import ChainableUndefined, markup_join as _markup_join
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup, escape

from .i18n import format_number, plural_form
from .limits import MAX_TEMPLATE_SEQUENCE, RENDER_TIME_BUDGET
from .models import OutputFormat
from .render_errors import timeout_error

TRUNCATION_MARK = "…"
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~])")
# Width and precision of %-formats ("%0300d", "%.9999f"); "%*d" is refused outright.
_FORMAT_WIDTH = re.compile(r"%(?:\([^)]*\))?[-+ 0#]*(\d*)(?:\.(\d+))?")
_FORMAT_STAR = re.compile(r"%(?:\([^)]*\))?[-+ 0#]*(?:\d*\.)?\*")
# Widths inside str.format specs: "{:>50000}", "{0:.9999f}".
_BRACE_SPEC = re.compile(r"\{[^{}]*:([^{}]*)\}")
_NUMBER = re.compile(r"\d+")
_MAX_POWER_BITS = 100_000


class _MoveToWorker(Exception):
    """An in-process render used up its slice: render it in a worker instead."""


class _RenderState(threading.local):
    """Per thread: the running render's deadline and output format."""

    deadline: float | None = None
    budget: float = RENDER_TIME_BUDGET
    escape: Callable[[str], str] | None = None
    # In-process: the deadline is the slice, and passing it moves the render.
    move: bool = False


_state = _RenderState()


def _check_deadline() -> None:
    """Raise once the current thread's render is past its budget (or slice)."""
    deadline = _state.deadline
    if deadline is not None and time.monotonic() > deadline:
        if _state.move:
            raise _MoveToWorker
        raise timeout_error(_state.budget)


@pass_context
def _tick(context: Any, value: str) -> str:
    """Filter injected into every loop body: check the deadline, render nothing.

    It takes the context only so Jinja cannot fold it into a constant at compile time.
    """
    _check_deadline()
    return value


def _guarded_range(*args: int) -> Iterator[int]:
    """`range` that checks the deadline while iterating."""
    for index, value in enumerate(range(*args)):
        if not index & 0xFF:
            _check_deadline()
        yield value


def _escape_markdown(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def _escape_html(text: str) -> str:
    return str(escape(text))


# How `{{ value }}` is escaped per format; None = as is.
_ESCAPERS: dict[OutputFormat, Callable[[str], str] | None] = {
    OutputFormat.PLAIN: None,
    OutputFormat.HTML: _escape_html,
    OutputFormat.MARKDOWN: _escape_markdown,
}


def escape_text(text: str, output_format: OutputFormat) -> str:
    """Escape literal text for a format (as template values are)."""
    escaper = _ESCAPERS[output_format]
    return text if escaper is None else escaper(text)


def _finalize(value: Any) -> str:
    """Turn one `{{ value }}` into text for the format of this thread's render.

    Values marked safe (`|safe`) are trusted as written in every format.
    """
    escaper = _state.escape
    if type(value) is str:  # the common case first: plain strings (not Markup)
        return value if escaper is None else escaper(value)
    if value is None:
        return ""
    if isinstance(value, Markup):
        return str(value)
    text = str(value)
    return text if escaper is None else escaper(text)


class _LoopGuard(Extension):
    """Inject a deadline check at the start of every for-loop body."""

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
                # `{% if '' | _nb_tick %}{% endif %}`: a filter is called directly by
                # compiled code (no sandbox hop) and an `if` yields no output.
                yield Token(line, "block_begin", "{%")
                yield Token(line, "name", "if")
                yield Token(line, "string", "")
                yield Token(line, "pipe", "|")
                yield Token(line, "name", "_nb_tick")
                yield Token(line, "block_end", "%}")
                yield Token(line, "block_begin", "{%")
                yield Token(line, "name", "endif")
                yield Token(line, "block_end", "%}")


def _sized(value: Any) -> int | None:
    return len(value) if isinstance(value, str | bytes | list | tuple) else None


def _too_big(what: str) -> SecurityError:
    return SecurityError(
        f"{what} would exceed {MAX_TEMPLATE_SEQUENCE} elements; templates may not "
        "build values that large"
    )


_MAPPING_TYPES = frozenset({dict, MappingProxyType})
_MAPPING_ATTRIBUTES = frozenset(dir(dict)) | frozenset(dir(MappingProxyType))


class _BridgeSandbox(ImmutableSandboxedEnvironment):
    """Immutable sandbox with deadline checks and caps on value-amplifying operators."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

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
        elif operator == "%" and isinstance(left, str):
            _check_format_widths(left)
            args = right.values() if isinstance(right, Mapping) else right
            args = (
                args
                if isinstance(args, tuple | list) or isinstance(right, Mapping)
                else (right,)
            )
            if len(left) + sum(len(str(arg)) for arg in args) > MAX_TEMPLATE_SEQUENCE:
                raise _too_big("formatting")
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

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """Wrap str.format / format_map with size checks before the sandboxed call."""
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        template_text = str(getattr(value, "__self__", ""))

        def checked(*args: Any, **kwargs: Any) -> str:
            # "{:>50000000}".format(x) would pad in one C call: refuse big widths.
            for spec in _BRACE_SPEC.findall(template_text):
                for number in _NUMBER.findall(spec):
                    _capped_width(int(number))
            parts = (*args, *kwargs.values())
            if (
                len(template_text) + sum(len(str(a)) for a in parts)
                > MAX_TEMPLATE_SEQUENCE
            ):
                raise _too_big("formatting")
            return wrapped(*args, **kwargs)

        return checked

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _check_deadline()
        return super().call(__context, __obj, *args, **kwargs)

    def getattr(self, obj: Any, attribute: str) -> Any:
        # Event data is plain mappings: look keys up directly unless the name is a
        # mapping method, which keeps Jinja's attribute-first meaning.
        if type(obj) in _MAPPING_TYPES and attribute not in _MAPPING_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)


def _check_format_widths(text: str) -> None:
    """Refuse %-formats whose width or precision would pad to a huge string."""
    if _FORMAT_STAR.search(text):
        raise SecurityError("%-formats taking their width from the arguments (*)")
    for width, precision in _FORMAT_WIDTH.findall(text):
        for number in (width, precision):
            if number:
                _capped_width(int(number))


def _capped_str_join(seq: Iterable[Any]) -> str:
    """Jinja's `~`: join, refusing results past the size cap (`~` is no operator
    the sandbox can intercept, so compiled templates get this in its place)."""
    parts = [str(part) for part in seq]
    if sum(map(len, parts)) > MAX_TEMPLATE_SEQUENCE:
        raise _too_big("concatenation")
    return "".join(parts)


def _capped_markup_join(seq: Iterable[Any]) -> str:
    parts = list(seq)
    if sum(len(str(part)) for part in parts) > MAX_TEMPLATE_SEQUENCE:
        raise _too_big("concatenation")
    return _markup_join(parts)


def _capped_width(width: int) -> int:
    if width > MAX_TEMPLATE_SEQUENCE:
        raise _too_big("padding")
    return width


def _capped_replace(value: Any, old: str, new: str, count: int | None = None) -> str:
    text = str(value)
    hits = text.count(old) if old else len(text) + 1
    if len(text) + hits * len(new) > MAX_TEMPLATE_SEQUENCE:
        raise _too_big("replacement")
    return text.replace(old, new) if count is None else text.replace(old, new, count)


@pass_eval_context
def _capped_join(eval_ctx: Any, value: Any, d: str = "", attribute: Any = None) -> str:
    items = list(value)
    if attribute is None:
        size = sum(len(str(item)) for item in items) + len(d) * len(items)
        if size > MAX_TEMPLATE_SEQUENCE:
            raise _too_big("join")
    return sync_do_join(eval_ctx, items, d, attribute)


def _capped_wrappers(
    base_filters: Mapping[str, Callable[..., str]],
) -> dict[str, Callable[..., str]]:
    """Return size checks wrapped around Jinja's own `center`, `indent`, `wordwrap`
    and `format` (each checks the result size it would build, then delegates)."""

    def capped_center(value: Any, width: int = 80) -> str:
        return base_filters["center"](value, _capped_width(width))

    def capped_indent(
        value: Any, width: int | str = 4, *args: Any, **kwargs: Any
    ) -> str:
        pad = width if isinstance(width, int) else len(str(width))
        _capped_width(len(str(value)) + pad * (str(value).count("\n") + 1))
        return base_filters["indent"](value, width, *args, **kwargs)

    @pass_environment
    def capped_wordwrap(
        environment: Any,
        value: Any,
        width: int = 79,
        break_long_words: bool = True,
        wrapstring: str | None = None,
        break_on_hyphens: bool = True,
    ) -> str:
        text = str(value)
        # At worst every character is followed by the wrap string.
        _capped_width(len(text) * (1 + len(wrapstring or "\n")))
        return base_filters["wordwrap"](
            environment, text, width, break_long_words, wrapstring, break_on_hyphens
        )

    def capped_format(value: str, *args: Any, **kwargs: Any) -> str:
        _check_format_widths(str(value))
        return base_filters["format"](value, *args, **kwargs)

    return {
        "center": capped_center,
        "indent": capped_indent,
        "wordwrap": capped_wordwrap,
        "format": capped_format,
    }


def _curated_globals(defaults: Mapping[str, Any]) -> dict[str, Any]:
    """Curated globals: no lipsum (CPU-heavy), a deadline-checked range."""
    return {
        "range": _guarded_range,
        "dict": dict,
        "namespace": defaults["namespace"],
        "cycler": defaults["cycler"],
        "joiner": defaults["joiner"],
    }


def _build_environment() -> _BridgeSandbox:
    """Return the sandbox with the capped filters, curated globals and loop guard."""
    env = _BridgeSandbox(
        extensions=[_LoopGuard],
        undefined=ChainableUndefined,
        finalize=_finalize,
        autoescape=False,
        keep_trailing_newline=False,
    )
    env.filters.update(_capped_wrappers(dict(env.filters)))
    env.filters["join"] = _capped_join
    env.filters["replace"] = _capped_replace
    env.globals = _curated_globals(env.globals)
    env.filters["_nb_tick"] = _tick
    env.filters["plural"] = _plural
    env.filters["number"] = _number
    return env


@pass_context
def _plural(context: Any, count: Any, *forms: str) -> str:
    """`{{ n | plural('photo', 'photos') }}`: the form for `n` in the reader's
    language, forms in its plural order (English one, other; Russian one, few,
    many)."""
    return plural_form(context.get("language"), count, forms)


@pass_context
def _number(context: Any, value: Any) -> str:
    """`{{ n | number }}`: digit grouping of the reader's language (10,000 / 10 000)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return format_number(value, context.get("language") or "en")


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - len(TRUNCATION_MARK)] + TRUNCATION_MARK


# One sandboxed environment for the whole process: preview, validation and delivery
# compile with exactly the same rules.
_ENVIRONMENT = _build_environment()
# Macro bodies and {% set %} blocks are joined with `concat`: capped like `~`.
_ENVIRONMENT.concat = _capped_str_join  # type: ignore[method-assign]


def _compile_guarded(source: str | nodes.Template) -> Any:
    """Compile, and give the template's code the size-capped `~` joins."""
    template = _ENVIRONMENT.from_string(source)
    namespace = template.root_render_func.__globals__
    namespace["str_join"] = _capped_str_join
    namespace["markup_join"] = _capped_markup_join
    return template
