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
    # The files whose change needs a fresh .venv: only the test stack. Extras (e.g.
    # requirements_dev.txt) have their own stamps, so adding them never resets .venv.
    sha256sum <"$ROOT/requirements_test.txt" | cut -d' ' -f1
}

ensure_venv() {
    # Usage: ensure_venv [EXTRA_REQUIREMENTS_FILE...]
    # The base .venv (requirements_test.txt) is recreated only when that file changes;
    # each extra file is then pip-installed on top, only when its own content changed.
    # scripts/test calls this without arguments, scripts/develop with requirements_dev.txt,
    # so running one after the other in any order never reinstalls the whole .venv.
    local stamp="$VENV/.requirements.sha256"
    local want
    want="$(requirements_hash)"
    if ! { [ -x "$VENV/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; }; then
        local py
        py="$(find_python)"
        echo "Creating .venv with $py ($("$py" --version))" >&2
        rm -rf "$VENV"
        "$py" -m venv "$VENV"
        "$VENV/bin/python" -m pip install --quiet --upgrade pip
        "$VENV/bin/python" -m pip install --quiet -r "$ROOT/requirements_test.txt"
        echo "$want" >"$stamp"
    fi
    local extra
    for extra in "$@"; do
        ensure_extra_requirements "$extra"
    done
}

ensure_extra_requirements() {
    # One stamp per extra file, stored inside .venv: a recreated .venv drops the stamps
    # with it, so the extras are reinstalled exactly when needed.
    local file="$1"
    local stamp
    stamp="$VENV/.$(basename "$file").sha256"
    local want
    want="$(sha256sum <"$file" | cut -d' ' -f1)"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return 0
    fi
    echo "Installing $(basename "$file") into .venv" >&2
    # requirements_test.txt is passed as constraints so the extras cannot move a pinned
    # test package to another version.
    "$VENV/bin/python" -m pip install --quiet -r "$file" -c "$ROOT/requirements_test.txt"
    echo "$want" >"$stamp"
}
