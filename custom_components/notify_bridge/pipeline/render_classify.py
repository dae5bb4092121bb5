"""Which templates may render inside Home Assistant's process, decided on their AST.

A template renders in-process only when every construct in it is on the lists below:
value substitution, attribute and item access, slices, `if`, `for`, comparisons and
tests, `-`, and filters or method calls whose cost is one linear pass over their input
with constant arguments. Nothing here can loop on its own, call arbitrary code,
multiply or format; so every single C-level step is linear in the size of the event
data (the webhook body is at most 1 MB), and a value is never more than about 20 times
the largest value of the event.

"Growing" operations (escape, tojson, replace, join, `~`, ...) may enlarge a value by
a bounded factor; their input must not itself be the output of a growing operation,
or a chain of them would grow exponentially. Everything else — macros, `{% set %}`
blocks, namespaces, `range`, `*`, `**`, `%`, `+`, `format`, `batch`, `center`, string
methods such as `ljust` — renders in a worker process with a memory and CPU limit.

The classification runs on the parsed tree only: compiling would fold constants,
which evaluates filters in this process.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from jinja2 import nodes

# A value derived from the event data (≤ its size) or from a growing operation.
_DATA, _GROWN = 0, 1


class _NotFast(Exception):
    """The template uses something the in-process path does not allow."""


def _const_str(node: nodes.Node | None, max_len: int | None = None) -> bool:
    return (
        isinstance(node, nodes.Const)
        and isinstance(node.value, str)
        and (max_len is None or len(node.value) <= max_len)
    )


def _const_int(node: nodes.Node | None, low: int, high: int) -> bool:
    return (
        isinstance(node, nodes.Const)
        and type(node.value) is int
        and low <= node.value <= high
    )


def _consts(items: Iterable[nodes.Node | None]) -> bool:
    return all(
        item is None
        or (
            isinstance(item, nodes.Const)
            and type(item.value) in {str, int, float, bool, type(None)}
            and (not isinstance(item.value, str) or len(item.value) <= 1_000)
        )
        for item in items
    )


def _replace_ok(args: list[Any], kwargs: dict[str, Any]) -> bool:
    """`replace(old, new[, count])`: old non-empty, new at most 16 characters longer."""
    if kwargs or len(args) not in {2, 3} or not _consts(args):
        return False
    old, new = args[0].value, args[1].value
    return (
        isinstance(old, str)
        and isinstance(new, str)
        and len(old) > 0
        and len(new) <= len(old) + 16
    )


def _join_ok(args: list[Any], kwargs: dict[str, Any]) -> bool:
    sep = args[0] if args else kwargs.get("d")
    return _consts([*args, *kwargs.values()]) and (
        sep is None or _const_str(sep, max_len=16)
    )


def _round_ok(args: list[Any], kwargs: dict[str, Any]) -> bool:
    # round(5, -10**8) would compute 10**(10**8): the precision must be small.
    precision = args[0] if args else kwargs.get("precision")
    return _consts([*args, *kwargs.values()]) and (
        precision is None or _const_int(precision, -20, 20)
    )


def _consts_only(args: list[Any], kwargs: dict[str, Any]) -> bool:
    return _consts([*args, *kwargs.values()])


def _no_args(args: list[Any], kwargs: dict[str, Any]) -> bool:
    return not args and not kwargs


def _map_ok(args: list[Any], kwargs: dict[str, Any]) -> bool:
    # map(attribute=...) only: map('filter') calls any filter by name.
    return (
        not args
        and set(kwargs) <= {"attribute", "default"}
        and _consts_only(args, kwargs)
    )


def _select_ok(args: list[Any], kwargs: dict[str, Any]) -> bool:
    return not kwargs and _consts(args)


# Filter name → (grows its input, check of its arguments).
_FILTERS: dict[str, tuple[bool, Any]] = {
    # Never larger than their input (or a number / a bool).
    "abs": (False, _no_args),
    # One of its constant forms; a number with its grouping.
    "plural": (False, _consts_only),
    "number": (False, _no_args),
    "attr": (False, _consts_only),
    "count": (False, _no_args),
    "d": (False, None),  # default: any fast argument, checked as an expression
    "default": (False, None),
    "first": (False, _no_args),
    "last": (False, _no_args),
    "length": (False, _no_args),
    "float": (False, _consts_only),
    "int": (False, _consts_only),
    "items": (False, _no_args),
    "map": (False, _map_ok),
    "max": (False, _consts_only),
    "min": (False, _consts_only),
    "reject": (False, _select_ok),
    "rejectattr": (False, _select_ok),
    "reverse": (False, _no_args),
    "round": (False, _round_ok),
    "select": (False, _select_ok),
    "selectattr": (False, _select_ok),
    "trim": (False, _consts_only),
    "truncate": (False, _consts_only),
    "unique": (False, _consts_only),
    "wordcount": (False, _no_args),
    "filesizeformat": (False, _consts_only),
    "_nb_tick": (False, _no_args),
    # Larger than their input by a bounded factor (≤ 12x: tojson of astral chars).
    "capitalize": (True, _no_args),
    "e": (True, _no_args),
    "escape": (True, _no_args),
    "forceescape": (True, _no_args),
    "join": (True, _join_ok),
    "list": (True, _no_args),
    "lower": (True, _no_args),
    "replace": (True, _replace_ok),
    "safe": (True, _no_args),
    "string": (True, _no_args),
    "title": (True, _no_args),
    "tojson": (True, _no_args),  # tojson(indent=...) pads every line: worker
    "upper": (True, _no_args),
    "urlencode": (True, _no_args),
}

# Methods callable in-process (constant arguments only) → grows its receiver.
_METHODS: dict[str, bool] = {
    "items": False,
    "keys": False,
    "values": False,
    "get": False,
    "startswith": False,
    "endswith": False,
    "count": False,
    "isdigit": False,
    "isalpha": False,
    "isalnum": False,
    "strip": False,
    "lstrip": False,
    "rstrip": False,
    "lower": True,
    "upper": True,
    "title": True,
    "capitalize": True,
    "split": True,
    "splitlines": True,
}


class _Classifier:
    """Walks a template tree; raises `_NotFast` at the first construct not allowed."""

    def __init__(self, tests: Iterable[str]) -> None:
        self._tests = frozenset(tests)
        # Names assigned a grown value somewhere (`set`, loop targets).
        self.grown_names: set[str] = set()
        self.changed = False

    def statements(self, body: Iterable[nodes.Node]) -> None:
        for node in body:
            self.statement(node)

    def statement(self, node: nodes.Node) -> None:
        if isinstance(node, nodes.Output):
            for child in node.nodes:
                if not isinstance(child, nodes.TemplateData):
                    self.expr(child)
        elif isinstance(node, nodes.If):
            self.expr(node.test)
            self.statements(node.body)
            self.statements(node.elif_)
            self.statements(node.else_)
        elif isinstance(node, nodes.For):
            if node.recursive:
                raise _NotFast("recursive loop")
            self._store(node.target, self.expr(node.iter))
            if node.test is not None:
                self.expr(node.test)
            self.statements(node.body)
            self.statements(node.else_)
        elif isinstance(node, nodes.Assign):
            self._store(node.target, self.expr(node.node))
        else:
            raise _NotFast(type(node).__name__)

    def _store(self, target: nodes.Node, kind: int) -> None:
        if isinstance(target, nodes.Name):
            names = [target.name]
        elif isinstance(target, nodes.Tuple) and all(
            isinstance(item, nodes.Name) for item in target.items
        ):
            names = [item.name for item in target.items if isinstance(item, nodes.Name)]
        else:
            raise _NotFast("assignment target")  # namespace attributes (ns.x)
        if kind == _GROWN:
            for name in names:
                if name not in self.grown_names:
                    self.grown_names.add(name)
                    self.changed = True

    def expr(self, node: nodes.Node) -> int:  # noqa: PLR0911 - one case per node type
        """Check an expression; return whether its value may be grown."""
        if isinstance(node, nodes.Const):
            return _DATA
        if isinstance(node, nodes.Name):
            return _GROWN if node.name in self.grown_names else _DATA
        if isinstance(node, nodes.Getattr):
            return self.expr(node.node)
        if isinstance(node, nodes.Getitem):
            self.expr(node.arg)
            return self.expr(node.node)
        if isinstance(node, nodes.Slice):
            for part in (node.start, node.stop, node.step):
                if part is not None:
                    self.expr(part)
            return _DATA
        if isinstance(node, nodes.Filter):
            return self._filter(node)
        if isinstance(node, nodes.Test):
            self._test(node)
            return _DATA
        if isinstance(node, nodes.Call):
            return self._call(node)
        return self._operator(node)

    def _operator(self, node: nodes.Node) -> int:
        if isinstance(node, nodes.Compare):
            self.expr(node.expr)
            for operand in node.ops:
                self.expr(operand.expr)
            return _DATA
        if isinstance(node, nodes.Not | nodes.Neg | nodes.Pos):
            self.expr(node.node)
            return _DATA
        if isinstance(node, nodes.And | nodes.Or | nodes.Sub):
            # and/or return one operand; `-` of numbers or sets is never larger.
            return max(self.expr(node.left), self.expr(node.right))
        if isinstance(node, nodes.CondExpr):
            self.expr(node.test)
            branches = [node.expr1] + ([node.expr2] if node.expr2 else [])
            return max(self.expr(branch) for branch in branches)
        if isinstance(node, nodes.Concat):
            return self._concat(node)
        if isinstance(node, nodes.Tuple | nodes.List) and _consts(node.items):
            return _DATA  # literals of constants only: [x, x, x] | string would grow
        raise _NotFast(type(node).__name__)

    def _concat(self, node: nodes.Concat) -> int:
        variable = [part for part in node.nodes if not isinstance(part, nodes.Const)]
        if len(variable) > 4:
            raise _NotFast("long concatenation")
        for part in variable:
            self._growable(part)
        return _GROWN

    def _growable(self, node: nodes.Node) -> None:
        """A growing operation's input must not be grown already."""
        if self.expr(node) == _GROWN:
            raise _NotFast("chained growth")

    def _filter(self, node: nodes.Filter) -> int:
        rule = _FILTERS.get(node.name)
        if rule is None or node.dyn_args is not None or node.dyn_kwargs is not None:
            raise _NotFast(f"filter {node.name}")
        grows, check = rule
        kwargs = {kw.key: kw.value for kw in node.kwargs}
        if check is None:  # default(value, boolean): any fast expression
            kinds = [self.expr(arg) for arg in [*node.args, *kwargs.values()]]
            own = self.expr(node.node) if node.node is not None else _DATA
            return max([own, *kinds])
        if not check(node.args, kwargs):
            raise _NotFast(f"arguments of filter {node.name}")
        if node.node is None:
            return _DATA
        if grows:
            self._growable(node.node)
            return _GROWN
        return self.expr(node.node)

    def _test(self, node: nodes.Test) -> None:
        if (
            node.name not in self._tests
            or node.dyn_args is not None
            or node.dyn_kwargs is not None
        ):
            raise _NotFast(f"test {node.name}")
        self.expr(node.node)
        for arg in [*node.args, *(kw.value for kw in node.kwargs)]:
            self.expr(arg)

    def _call(self, node: nodes.Call) -> int:
        target = node.node
        if (
            not isinstance(target, nodes.Getattr)
            or target.attr not in _METHODS
            or node.kwargs
            or node.dyn_args is not None
            or node.dyn_kwargs is not None
            or not _consts(node.args)
        ):
            raise _NotFast("call")
        if _METHODS[target.attr]:
            self._growable(target.node)
            return _GROWN
        return self.expr(target.node)


def renders_in_process(template: nodes.Template, tests: Iterable[str]) -> bool:
    """Return whether a parsed template may render in Home Assistant's process."""
    classifier = _Classifier(tests)
    try:
        # Until the set of grown names is stable: a name grown later in the text
        # may be read earlier (in a loop).
        for _ in range(64):
            classifier.changed = False
            classifier.statements(template.body)
            if not classifier.changed:
                return True
    except _NotFast:
        return False
    except RecursionError:  # absurdly nested expressions
        return False
    return False
