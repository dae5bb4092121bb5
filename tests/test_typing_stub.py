"""typings/voluptuous (what mypy reads for `import voluptuous`) matches the runtime.

On Home Assistant >= 2026.10, `import voluptuous` loads probatio's shim; the stub says
so to mypy. If probatio's shim surface changes, or Home Assistant stops aliasing it,
the stub would describe the wrong module: these tests fail first.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

probatio = pytest.importorskip("probatio", reason="HA < 2026.10 uses real voluptuous")

STUB = Path(__file__).parents[1] / "typings" / "voluptuous" / "__init__.pyi"


def _stub_names() -> dict[str, tuple[str, str]]:
    """Return each name the stub exports, with (module, name) it re-exports."""
    names: dict[str, tuple[str, str]] = {}
    for node in ast.parse(STUB.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                names[alias.asname or alias.name] = (node.module or "", alias.name)
    return names


def test_stub_lists_the_shim_surface_from_probatio() -> None:
    """Exactly the names `import voluptuous` has at runtime, each probatio's own."""
    from probatio._vol_shim import _surface

    names = _stub_names()
    assert set(names) == set(_surface.TOP)
    assert all(source == ("probatio", name) for name, source in names.items())


def test_voluptuous_is_probatio_at_runtime() -> None:
    """Home Assistant aliased voluptuous to probatio: the premise of the stub."""
    import homeassistant  # noqa: F401  (its __init__ installs the alias)
    import voluptuous as vol

    assert vol.Schema is probatio.Schema
    assert vol.Required is probatio.Required
