"""The examples/ an instructor reads, run here as far as possible without the
cloud: the Gradescope run_autograder against a fake /autograder tree, the
GitHub Actions step as the runner would run it, the sample harness.toml.
(Installing them — setup.sh, the workflow's install step — is tests/test_bundle.py.)"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REFERENCE, ROOT, SERVERS
from test_reports_formats import gradescope_schema_errors

from harness.assignment import load_assignment

EXAMPLES = ROOT / "examples"
BIN = Path(sys.executable).parent
#: The sample assignment: echo worth 60, binary_bytes and half_close weigh 2, the other 8 checks 1:
#: 60/12 per unit of weight, shared in quarter points that add up to 60 (harness.results.apportion).
SERVES_NEXT_CLIENT_POINTS = 5


def test_sample_assignment_file_is_valid():
    assignment = load_assignment(EXAMPLES / "harness.toml")
    assert assignment.command == ["server.py", "{port}"]
    assert assignment.points["echo"] == 60


# -- Gradescope ---------------------------------------------------------------
def autograder_tree(tmp_path: Path, server: Path | None, nested: str = "") -> Path:
    root = tmp_path / "autograder"
    (root / "source").mkdir(parents=True)
    shutil.copy(EXAMPLES / "harness.toml", root / "source" / "harness.toml")
    submission = root / "submission" / nested
    submission.mkdir(parents=True)
    if server is not None:
        shutil.copy(server, submission / "server.py")
    return root


def run_autograder(root: Path) -> dict:
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "HARNESS": str(BIN / "harness")}
    completed = subprocess.run([str(EXAMPLES / "gradescope" / "run_autograder")], env=env, capture_output=True,
                               text=True, timeout=180, stdin=subprocess.DEVNULL)
    assert completed.returncode == 0, completed.stderr
    data = json.loads((root / "results" / "results.json").read_text())
    assert gradescope_schema_errors(data) == []
    return data


def test_gradescope_run_autograder_grades_a_submission_in_a_folder(tmp_path):
    root = autograder_tree(tmp_path, SERVERS / "tcp_single_client.py", nested="my-project")
    data = run_autograder(root)
    assert data["score"] == 60 - SERVES_NEXT_CLIENT_POINTS
    failed = [t for t in data["tests"] if t["status"] == "failed"]
    assert [t["name"] for t in failed] == ["echo::serves_next_client"]
    assert "Expected behaviour:" in failed[0]["output"]
    assert data["stdout_visibility"] == "hidden"


def test_gradescope_run_autograder_without_server_scores_zero_with_the_reason(tmp_path):
    data = run_autograder(autograder_tree(tmp_path, None))
    assert data["score"] == 0
    assert "server not found: 'server.py'" in data["output"]


# -- GitHub Actions -----------------------------------------------------------
WORKFLOW = EXAMPLES / "github-actions" / "classroom.yml"


def step_script(workflow: str, step_id: str) -> str:
    """The `run: |` block of the step with this id (no YAML library needed for our own file)."""
    lines = workflow.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == f"id: {step_id}")
    run_line = next(i for i in range(start, len(lines)) if lines[i].strip() == "run: |")
    indent = len(lines[run_line]) - len(lines[run_line].lstrip())
    body = []
    for line in lines[run_line + 1:]:
        if line.strip() and len(line) - len(line.lstrip()) <= indent:
            break
        body.append(line)
    return "\n".join(line.strip() for line in body) + "\n"


def test_workflow_has_the_names_classroom_requires_and_reports_the_harness_runner():
    text = WORKFLOW.read_text()
    assert re.search(r"^name: Autograding Tests$", text, re.M)
    assert re.search(r"^  run-autograding-tests:$", text, re.M)
    runners = re.search(r"runners: (\S+)", text).group(1)
    assert f'{runners.upper()}_RESULTS: "${{{{ steps.harness.outputs.result }}}}"' in text
    assert "harness-junit.xml" in text and "actions/upload-artifact" in text


@pytest.mark.parametrize("server, status, exit_ok", [
    (REFERENCE / "tcp_echo.py", "pass", True),
    (SERVERS / "tcp_upper.py", "fail", True),
])
def test_workflow_step_runs_like_on_the_runner(tmp_path, server, status, exit_ok):
    repository = tmp_path / "repo"
    repository.mkdir()
    shutil.copy(server, repository / "server.py")
    (repository / ".github" / "harness").mkdir(parents=True)
    shutil.copy(EXAMPLES / "harness.toml", repository / ".github" / "harness" / "harness.toml")
    outputs = tmp_path / "github_output"
    script = tmp_path / "step.sh"
    script.write_text(step_script(WORKFLOW.read_text(), "harness"))
    env = {**os.environ, "GITHUB_OUTPUT": str(outputs), "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    # How GitHub runs a `run:` step with the default shell.
    completed = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)], cwd=repository,
                               env=env, capture_output=True, text=True, timeout=180)
    assert (completed.returncode == 0) is exit_ok, completed.stdout + completed.stderr
    values = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
    results = json.loads(base64.b64decode(values["result"]))
    assert results["version"] == 1 and results["status"] == status and results["max_score"] == 60
    assert all({"name", "status", "score", "message"} <= set(t) for t in results["tests"])
    junit = (repository / "harness-junit.xml").read_text()
    assert 'name="echo::binary_bytes"' in junit
