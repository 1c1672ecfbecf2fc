#!/usr/bin/env bash
# Gradescope autograder setup, written by `harness bundle gradescope`: runs once,
# as root, when Gradescope builds the image (Ubuntu 22.04 base images have
# Python 3.10). Installs Python >= 3.11 and bubblewrap from the distribution's
# packages if the image lacks them, then the harness from the wheel in this
# bundle (pip fetches its dependencies, pytest and psutil, by their real names).
#   AUTOGRADER_ROOT   the autograder's folder (default /autograder)
#   HARNESS_NO_APT=1  never run apt-get
#   HARNESS_PYTHONS   Python commands to try (default: python3 python3.13 python3.12 python3.11)
#   HARNESS_APT_GET   the apt-get command (default apt-get)
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WHEEL="$HERE/socket_conformance_harness-0.1.0-py3-none-any.whl"
APT_GET="${HARNESS_APT_GET:-apt-get}"

python_ok() { "$1" -c 'import sys, ensurepip, venv; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; }
find_python() {
    for candidate in ${HARNESS_PYTHONS:-python3 python3.13 python3.12 python3.11}; do
        if command -v "$candidate" >/dev/null 2>&1 && python_ok "$candidate"; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

missing=()
find_python >/dev/null || missing+=(python3.11 python3.11-venv)
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
if [ ${#missing[@]} -gt 0 ]; then
    if [ -n "${HARNESS_NO_APT:-}" ]; then
        echo "setup.sh: not installing ${missing[*]} (HARNESS_NO_APT is set)" >&2
    elif [ "$(id -u)" != 0 ] || ! command -v "$APT_GET" >/dev/null 2>&1; then
        echo "setup.sh: cannot install ${missing[*]}: that needs $APT_GET, as root" >&2
    else
        export DEBIAN_FRONTEND=noninteractive
        "$APT_GET" update -qq
        "$APT_GET" install -y -qq --no-install-recommends "${missing[@]}"
    fi
fi
PYTHON="$(find_python)" || {
    echo "setup.sh: the harness needs Python 3.11 or newer with venv (Ubuntu: apt-get install python3.11 python3.11-venv)" >&2
    exit 1
}
command -v bwrap >/dev/null 2>&1 || echo "setup.sh: note: no bubblewrap; the harness confines servers without it" >&2

"$PYTHON" -m venv "$ROOT/venv"
"$ROOT/venv/bin/python" -m pip install --quiet --disable-pip-version-check "$WHEEL"
"$ROOT/venv/bin/harness" --version
