#!/usr/bin/env bash
# Shared by scripts/test and scripts/develop: find a working Python 3.13 and create or
# reuse .venv, reinstalling only when the requirement files change.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"

find_python() {
    local candidates=(python3.13 /usr/bin/python3.13)
    if command -v pyenv >/dev/null 2>&1; then
        local root
        root="$(pyenv root 2>/dev/null || true)"
        [ -n "$root" ] && candidates+=("$root"/versions/3.13*/bin/python3.13)
    fi
    candidates+=("$HOME"/.pyenv/versions/3.13*/bin/python3.13)
    local py
    for py in "${candidates[@]}"; do
        # A pyenv shim exists on PATH but fails unless its version is selected, so run it.
        if "$py" -c 'import sys; assert sys.version_info[:2] == (3, 13)' >/dev/null 2>&1; then
            echo "$py"
            return 0
        fi
    done
    echo "No working Python 3.13 found (tried: ${candidates[*]})." >&2
    echo "Install one (e.g. 'apt-get install python3.13' or 'pyenv install 3.13')." >&2
    return 1
}

requirements_hash() {
    # Every file whose change needs a reinstall; extra files may be passed in.
    cat "$ROOT/requirements_test.txt" "$@" | sha256sum | cut -d' ' -f1
}

ensure_venv() {
    local stamp="$VENV/.requirements.sha256"
    local want
    want="$(requirements_hash "$@")"
    if [ -x "$VENV/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return 0
    fi
    local py
    py="$(find_python)"
    echo "Creating .venv with $py ($("$py" --version))" >&2
    rm -rf "$VENV"
    "$py" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -r "$ROOT/requirements_test.txt"
    local extra
    for extra in "$@"; do
        "$VENV/bin/python" -m pip install --quiet -r "$extra"
    done
    echo "$want" >"$stamp"
}
