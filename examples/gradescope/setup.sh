#!/usr/bin/env bash
# Gradescope autograder setup: runs once, as root, when Gradescope builds the image.
# Zip this folder's setup.sh and run_autograder with your harness.toml:
#     zip -j autograder.zip setup.sh run_autograder ../harness.toml
# Paths and the package are configurable (the harness's own tests run this locally):
#   AUTOGRADER_ROOT (default /autograder), HARNESS_PACKAGE (what pip installs),
#   HARNESS_PIP (the pip command), HARNESS_NO_APT=1 (skip apt-get).
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PACKAGE="${HARNESS_PACKAGE:-socket-conformance-harness}"

if [ -z "${HARNESS_NO_APT:-}" ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    apt-get install -y -qq python3 python3-venv python3-pip
fi
python3 -m venv "$ROOT/venv"
PIP="${HARNESS_PIP:-$ROOT/venv/bin/pip}"
$PIP install --quiet "$PACKAGE"
