"""The scripts an autograder bundle carries: Gradescope's setup.sh and run_autograder, the Classroom workflow.

Text only (harness.cli.bundle decides where they go). Each script installs the
harness from the wheel that travels with it — never by a package name — and
names the assignment file by its place in the bundle. The examples in
examples/gradescope/ and examples/github-actions/ are these scripts as
`harness bundle` writes them for examples/harness.toml (a test keeps them so).
"""

from __future__ import annotations

import shlex

#: Where, in a course repository, the workflow finds the wheel and the assignment.
CLASSROOM_FOLDER = ".github/harness"
WORKFLOW_PATH = ".github/workflows/classroom.yml"
#: The assignment's name inside a bundle (its relative references keep working: same folder).
ASSIGNMENT_NAME = "harness.toml"

SETUP_SH = """\
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
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
HERE="$(cd "$(dirname "${{BASH_SOURCE[0]}}")" && pwd)"
WHEEL="$HERE/{wheel}"
APT_GET="${{HARNESS_APT_GET:-apt-get}}"

python_ok() {{ "$1" -c 'import sys, ensurepip, venv; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; }}
find_python() {{
    for candidate in ${{HARNESS_PYTHONS:-python3 python3.13 python3.12 python3.11}}; do
        if command -v "$candidate" >/dev/null 2>&1 && python_ok "$candidate"; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}}

missing=()
find_python >/dev/null || missing+=(python3.11 python3.11-venv)
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
if [ ${{#missing[@]}} -gt 0 ]; then
    if [ -n "${{HARNESS_NO_APT:-}}" ]; then
        echo "setup.sh: not installing ${{missing[*]}} (HARNESS_NO_APT is set)" >&2
    elif [ "$(id -u)" != 0 ] || ! command -v "$APT_GET" >/dev/null 2>&1; then
        echo "setup.sh: cannot install ${{missing[*]}}: that needs $APT_GET, as root" >&2
    else
        export DEBIAN_FRONTEND=noninteractive
        "$APT_GET" update -qq
        "$APT_GET" install -y -qq --no-install-recommends "${{missing[@]}}"
    fi
fi
PYTHON="$(find_python)" || {{
    echo "setup.sh: the harness needs Python 3.11 or newer with venv (Ubuntu: apt-get install python3.11 python3.11-venv)" >&2
    exit 1
}}
command -v bwrap >/dev/null 2>&1 || echo "setup.sh: note: no bubblewrap; the harness confines servers without it" >&2

"$PYTHON" -m venv "$ROOT/venv"
"$ROOT/venv/bin/python" -m pip install --quiet --disable-pip-version-check "$WHEEL"
"$ROOT/venv/bin/harness" --version
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope autograder, written by `harness bundle gradescope`: runs once per submission.
#   $ROOT/submission/          the student's files
#   $ROOT/source/{assignment}     the assignment file (from the bundle)
#   $ROOT/results/results.json what Gradescope shows (score, one test per check)
# ROOT is $AUTOGRADER_ROOT, default /autograder; HARNESS is the harness
# executable, default $ROOT/venv/bin/harness (installed by setup.sh).
set -uo pipefail
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
HARNESS="${{HARNESS:-$ROOT/venv/bin/harness}}"
SOURCE="$ROOT/source"
SUBMISSION="$ROOT/submission"
RESULTS="$ROOT/results"
ENTRY={entry}   # the file students submit (from the assignment's command)
mkdir -p "$RESULTS"
# Without a sandbox here (no bubblewrap, or a container that cannot make namespaces) the server
# runs as an unprivileged uid that reads what every user may read: the assignment (and an
# instructor's reference server) and the results are made root's alone first.
if [ "$(id -u)" = 0 ]; then chmod -R go-rwx "$SOURCE" "$RESULTS" 2>/dev/null || true; fi

# Students often upload a folder: look for the entry point a few levels down
# and run in the folder that holds it as the assignment expects (src/server.js: above src/).
cd "$SUBMISSION" || exit 1
if [ -n "$ENTRY" ] && [ ! -e "$ENTRY" ]; then
    # The shallowest first, then by name (as harness grade looks); never in a macOS zip's __MACOSX.
    found="$(find . -maxdepth 4 -path "*/$ENTRY" -not -path '*/.*' -not -path '*/__MACOSX/*' \\
        -not -path '*/node_modules/*' | awk -F/ '{{print NF "\\t" $0}}' | LC_ALL=C sort -k1,1n -k2 \\
        | head -n 1 | cut -f2-)"
    if [ -n "$found" ]; then cd "${{found%"/$ENTRY"}}"; fi
fi

# Exit codes 0-3 are verdicts on the submission (passed, failed, bad input such
# as a missing server file, server did not start); results.json is written in
# every one of those cases, with the reason as the output.
"$HARNESS" run --config "$SOURCE/{assignment}" --gradescope "$RESULTS/results.json" \\
    --json "$RESULTS/harness.json" -q
status=$?
if [ ! -s "$RESULTS/results.json" ]; then
    # The harness itself failed (exit 4 or worse): say so rather than show nothing.
    printf '{{"score": 0, "output": "The autograder could not run (harness exit %s). Please tell the course staff.", "tests": []}}\\n' \\
        "$status" > "$RESULTS/results.json"
fi
exit 0
"""

CLASSROOM_YML = """\
# GitHub Actions workflow for a course (or GitHub Classroom) repository, written
# by `harness bundle classroom`. It installs the harness from the wheel in
# {folder}/ (no package index name involved), runs the checks of
# {folder}/{assignment} against the repository's server, uploads JUnit/JSON
# reports and reports the score to GitHub Classroom (which requires this
# workflow name and job name).
name: Autograding Tests
on:
  - push
  - workflow_dispatch
permissions:
  checks: write
  actions: read
  contents: read
jobs:
  run-autograding-tests:
    runs-on: ubuntu-latest
    if: github.actor != 'github-classroom[bot]'
    timeout-minutes: 15
    steps:
      - name: Checkout code
        uses: actions/checkout@v4
      - name: Set up Python
        uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - name: Install the harness
        id: install
        run: python -m pip install --disable-pip-version-check {folder}/{wheel}
      - name: Run the conformance checks
        id: harness
        run: |
          set +e
          harness run --config {folder}/{assignment} --junit-xml harness-junit.xml --json harness.json --classroom classroom.json
          status=$?
          echo "exit=$status" >> "$GITHUB_OUTPUT"
          echo "result=$(base64 -w0 classroom.json)" >> "$GITHUB_OUTPUT"
          # 0 passed, 1 checks failed, 3 server did not start: the reports say why.
          # 2 (bad harness.toml) and 4 (harness bug) fail this step.
          [ "$status" -le 1 ] || [ "$status" -eq 3 ]
      - name: Upload the reports
        if: always()
        uses: actions/upload-artifact@v4
        with:
          name: harness-reports
          path: |
            harness-junit.xml
            harness.json
      - name: Autograding Reporter
        if: always()
        uses: classroom-resources/autograding-grading-reporter@v1
        env:
          HARNESS_RESULTS: "${{{{ steps.harness.outputs.result }}}}"
        with:
          runners: harness
"""


def setup_sh(wheel: str) -> str:
    return SETUP_SH.format(wheel=wheel)


def run_autograder(entry: str | None) -> str:
    return RUN_AUTOGRADER.format(entry=shlex.quote(entry or ""), assignment=ASSIGNMENT_NAME)


def classroom_workflow(wheel: str) -> str:
    return CLASSROOM_YML.format(folder=CLASSROOM_FOLDER, wheel=wheel, assignment=ASSIGNMENT_NAME)
