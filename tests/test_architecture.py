"""The layout holds: one-way layers, no import cycle, small files and functions.

Layers, bottom up (docs/architecture.md):
  const, net, pipeline/  →  sources/, targets/  (no Home Assistant import)
  →  runtime  →  kinds/shared/  →  kinds/<kind>/  →  the glue (everything else).
A module may import its own layer or lower ones, never a higher one; a kind never
imports another kind.
"""

from __future__ import annotations

import ast
from pathlib import Path
import subprocess
import sys

import pytest

PACKAGE = "custom_components.notify_bridge"
ROOT = Path(__file__).parents[1] / "custom_components" / "notify_bridge"
REPO = ROOT.parents[1]
# The protocol layers: importable without Home Assistant.
HA_FREE = ("const", "net", "redaction", "pipeline", "sources", "targets")
MAX_FILE_LINES = 600
MAX_FUNCTION_LINES = 60
# Known exceptions to the limits, each awaiting a split. These lists may only shrink;
# both are empty, so the limits hold for every file and function of the package.
OVERSIZED_FILES: set[str] = set()
OVERSIZED_FUNCTIONS: set[str] = set()


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """Return the package modules a module imports (its own package's names)."""
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base_parts = package.split(".") if package else []
            base_parts = base_parts[: len(base_parts) - (node.level - 1)]
            base = ".".join([*base_parts, *(node.module or "").split(".")]).strip(".")
            for alias in node.names:
                candidate = f"{base}.{alias.name}".strip(".")
                found.add(candidate if candidate in MODULES else base)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
            )
            for full in names:
                if full.startswith(f"{PACKAGE}."):
                    found.add(full.removeprefix(f"{PACKAGE}."))
    return {module for module in found if module in MODULES and module != name}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _layer(name: str) -> int:
    top = name.split(".", maxsplit=1)[0]
    if top in ("const", "net", "redaction", "pipeline"):
        return 0
    if top in ("sources", "targets"):
        return 1
    if top == "runtime":
        return 2
    if name.startswith("kinds.shared") or name == "kinds":
        return 3
    if top == "kinds":
        return 4
    return 5


def test_the_graph_is_read() -> None:
    """The parser sees real edges (a test that cannot fail is a defect)."""
    assert "runtime" in GRAPH["kinds.telegram.setup"]
    assert "kinds.shared.entities" in GRAPH["kinds.immich.entities"]
    assert "kinds.telegram" in GRAPH["catalog"]
    assert "pipeline.models" in GRAPH["pipeline.engine"]


def test_no_import_cycle() -> None:
    """No module reaches itself through the imports of the package's modules."""
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        path.append(name)
        for other in sorted(GRAPH[name]):
            if state.get(other) == 1:
                cycles.append([*path[path.index(other) :], other])
            elif other not in state:
                visit(other)
        path.pop()
        state[name] = 2

    for name in sorted(GRAPH):
        if name not in state:
            visit(name)
    assert cycles == []


def test_imports_flow_one_way() -> None:
    """No module imports a higher layer; kinds never import each other."""
    upward = [
        (name, other)
        for name, others in GRAPH.items()
        for other in others
        if _layer(other) > _layer(name)
    ]
    assert upward == []
    across = [
        (name, other)
        for name, others in GRAPH.items()
        if _layer(name) == 4
        for other in others
        if _layer(other) == 4 and other.split(".")[1] != name.split(".")[1]
    ]
    assert across == []


# Stubs the package (its __init__ imports Home Assistant) and refuses every
# `homeassistant` import, then imports each protocol module.
_NO_HA = """
import importlib, importlib.abc, sys, types
from pathlib import Path

class NoHomeAssistant(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "homeassistant" or name.startswith("homeassistant."):
            raise ImportError(f"{name} imported by protocol code")
        return None

sys.meta_path.insert(0, NoHomeAssistant())
root = Path(sys.argv[1])
for name, path in (("custom_components", root.parent), ("custom_components.notify_bridge", root)):
    module = types.ModuleType(name)
    module.__path__ = [str(path)]
    sys.modules[name] = module
for name in sys.argv[2:]:
    importlib.import_module(f"custom_components.notify_bridge.{name}")
print("imported", len(sys.argv) - 2)
"""


def _ha_free_modules() -> list[str]:
    return [name for name in MODULES if name.split(".")[0] in HA_FREE]


def test_protocol_code_imports_without_homeassistant() -> None:
    """pipeline/, sources/, targets/ (and const, net) import with HA unimportable."""
    names = _ha_free_modules()
    assert "sources.immich.client" in names
    assert "targets.telegram.sender" in names
    result = subprocess.run(
        [sys.executable, "-c", _NO_HA, str(ROOT), *names],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == f"imported {len(names)}"


def test_the_guard_refuses_homeassistant() -> None:
    """The same guard fails on a module that imports Home Assistant."""
    result = subprocess.run(
        [sys.executable, "-c", _NO_HA, str(ROOT), "runtime"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
        timeout=120,
    )
    assert result.returncode != 0
    assert "homeassistant imported by protocol code" in result.stderr


def _function_sizes() -> dict[str, int]:
    sizes: dict[str, int] = {}
    for path in MODULES.values():
        rel = path.relative_to(ROOT).as_posix()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                assert node.end_lineno is not None
                key = f"{rel}:{node.name}"
                sizes[key] = max(sizes.get(key, 0), node.end_lineno - node.lineno + 1)
    return sizes


def test_files_are_small() -> None:
    """No file of the package is over 600 lines (the known ones only shrink)."""
    over = {
        path.relative_to(ROOT).as_posix()
        for path in MODULES.values()
        if len(path.read_text().splitlines()) > MAX_FILE_LINES
    }
    assert over <= OVERSIZED_FILES, over - OVERSIZED_FILES


def test_functions_are_small() -> None:
    """No function is over 60 lines."""
    over = {
        name for name, lines in _function_sizes().items() if lines > MAX_FUNCTION_LINES
    }
    assert over <= OVERSIZED_FUNCTIONS, over - OVERSIZED_FUNCTIONS


@pytest.mark.parametrize(
    "name",
    sorted(
        name for name in MODULES if name.startswith("kinds.") and name.count(".") == 1
    ),
)
def test_each_kind_is_a_package(name: str) -> None:
    """Every kind (and the shared helpers) is a package, not a module."""
    assert MODULES[name].name == "__init__.py"


def test_kind_flow_mixins_never_share_a_name() -> None:
    """Every kind's entry-flow class is mixed into ONE ConfigFlow class, so a name
    two of them define (or one overrides from a shared base) silently replaces the
    other kind's: the e-mail kind's `_taken_by_another` once broke Planka's check."""
    from homeassistant.config_entries import ConfigFlow

    from custom_components.notify_bridge.catalog import KINDS

    owners: dict[str, set[str]] = {}
    for kind in KINDS.values():
        flow = kind.entry_steps.flow
        if flow is None:
            continue
        for cls in flow.__mro__:
            if cls in ConfigFlow.__mro__:
                continue
            for name in vars(cls):
                if not name.startswith("__"):
                    owners.setdefault(name, set()).add(cls.__qualname__)
    shared = {
        name: sorted(classes) for name, classes in owners.items() if len(classes) > 1
    }
    assert shared == {}
