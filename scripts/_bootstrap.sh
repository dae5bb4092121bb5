#!/usr/bin/env bash
# Shared by scripts/test and scripts/develop: find a working Python 3.14 (>= 3.14.2, what
# Home Assistant 2026.3 and newer need) and create or reuse one virtual environment per
# stack, reinstalling a stack only when its requirement file changes.
#
# Stacks (each its own venv and requirement file):
#   newest  .venv      requirements_test.txt      the newest HA the test plugin supports
#   min     .venv-min  requirements_test_min.txt  the oldest HA Notify Bridge supports
#   dev     .venv-dev  requirements_dev.txt       the newest HA release, for develop
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON_MIN="3.14.2"
ENSURE_PYTHON="$ROOT/../shared/toolchain/ensure-python3.14"

stack_venv() {
    case "$1" in
    newest) echo "$ROOT/.venv" ;;
    min) echo "$ROOT/.venv-min" ;;
    dev) echo "$ROOT/.venv-dev" ;;
    *) echo "unknown stack: $1 (newest, min or dev)" >&2 && return 1 ;;
    esac
}

stack_requirements() {
    case "$1" in
    newest) echo "$ROOT/requirements_test.txt" ;;
    min) echo "$ROOT/requirements_test_min.txt" ;;
    dev) echo "$ROOT/requirements_dev.txt" ;;
    *) echo "unknown stack: $1 (newest, min or dev)" >&2 && return 1 ;;
    esac
}

python_ok() {
    # A pyenv shim exists on PATH but fails unless its version is selected, so run it.
    "$1" -c "import sys; assert sys.version_info >= (${PYTHON_MIN//./, })" >/dev/null 2>&1
}

find_python() {
    local candidates=(python3.14 /usr/bin/python3.14 /usr/local/bin/python3.14)
    if command -v pyenv >/dev/null 2>&1; then
        local root
        root="$(pyenv root 2>/dev/null || true)"
        [ -n "$root" ] && candidates+=("$root"/versions/3.14*/bin/python3.14)
    fi
    candidates+=("$HOME"/.pyenv/versions/3.14*/bin/python3.14)
    local py
    for py in "${candidates[@]}"; do
        if python_ok "$py"; then
            echo "$py"
            return 0
        fi
    done
    # No Python 3.14 on this machine: the shared toolchain builds one from a pinned,
    # offline package set (about 5 s the first time, instant afterwards).
    if [ -x "$ENSURE_PYTHON" ]; then
        py="$("$ENSURE_PYTHON" | tail -n 1)"
        if python_ok "$py"; then
            echo "$py"
            return 0
        fi
    fi
    echo "No Python >= $PYTHON_MIN found (tried: ${candidates[*]}; $ENSURE_PYTHON)." >&2
    echo "Install one, e.g. 'apt-get install python3.14' (Debian testing) or" >&2
    echo "'pyenv install 3.14', then run this again." >&2
    return 1
}

ensure_venv() {
    # Usage: ensure_venv STACK — create or reuse the stack's venv; print nothing on reuse.
    local stack="$1"
    local venv requirements stamp want
    venv="$(stack_venv "$stack")"
    requirements="$(stack_requirements "$stack")"
    stamp="$venv/.requirements.sha256"
    want="$(sha256sum <"$requirements" | cut -d' ' -f1)"
    if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return 0
    fi
    local py
    py="$(find_python)"
    echo "Creating $(basename "$venv") (stack $stack) with $py ($("$py" --version))" >&2
    rm -rf "$venv"
    "$py" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
    local pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check)
    if [ "$stack" = dev ]; then
        # Home Assistant itself first, then everything else under its constraints,
        # exactly as Home Assistant installs integration requirements at run time.
        "${pip[@]}" "$(grep -E '^homeassistant==' "$requirements")"
        local constraints
        constraints="$("$venv/bin/python" -c 'import homeassistant, pathlib; print(pathlib.Path(homeassistant.__file__).parent / "package_constraints.txt")')"
        "${pip[@]}" -r "$requirements" -c "$constraints"
    else
        "${pip[@]}" -r "$requirements"
    fi
    echo "$want" >"$stamp"
}

stack_versions() {
    # Usage: stack_versions STACK — "python 3.14.10, homeassistant 2026.10.4"
    "$(stack_venv "$1")/bin/python" - <<'PY'
import platform
from importlib.metadata import version

print(f"python {platform.python_version()}, homeassistant {version('homeassistant')}")
PY
}
