"""`harness bundle`: the Gradescope zip installed into a fake /autograder tree and
run on submissions as Gradescope runs it; the Classroom workflow's steps run as
the runner runs them, from the folder the bundle wrote. Everything offline: pip
gets the harness from the bundled wheel and its dependencies from a wheelhouse
rebuilt from this environment (PIP_NO_INDEX, PIP_FIND_LINKS), by their real names."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from functools import reduce
from importlib import metadata
from pathlib import Path

import pytest
from conftest import REFERENCE, ROOT, SERVERS
from packaging.requirements import Requirement
from test_reports_formats import gradescope_schema_errors

from harness.cli.bundle import assignment_files
from harness.cli.bundle_scripts import classroom_workflow, run_autograder, setup_sh
from harness.cli.wheel import harness_distribution, installed_wheel
from harness.errors import ConfigError
from harness.server.command import server_file

SAMPLE = ROOT / "examples" / "harness.toml"
HARNESS = Path(sys.executable).parent / "harness"
#: The sample assignment: echo worth 60 over 12 shares (two checks weigh 2); serves_next_client's is 5.
MAX_SCORE = 60
BROKEN_SERVER = "import socket\n\ndef main(:\n    pass\n"


def float_sum(values: list[float]) -> float:
    return reduce(lambda total, value: total + value, values, 0)


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300, **kwargs)


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory) -> Path:
    """The harness's dependencies as wheels rebuilt from this environment: pip installs offline."""
    house = tmp_path_factory.mktemp("wheelhouse")
    seen: set[str] = set()
    pending = [harness_distribution()]
    while pending:
        for text in pending.pop().requires or []:
            requirement = Requirement(text)
            name = requirement.name.lower()
            if name in seen or (requirement.marker and not requirement.marker.evaluate({"extra": ""})):
                continue
            seen.add(name)
            dependency = metadata.distribution(name)
            installed_wheel(dependency, house)
            pending.append(dependency)
    return house


def offline_env(wheelhouse: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheelhouse),
            "PIP_DISABLE_PIP_VERSION_CHECK": "1", **extra}


def unzip(archive: Path, target: Path) -> None:
    """Extract keeping the Unix modes (zipfile.extractall drops them)."""
    with zipfile.ZipFile(archive) as bundle:
        for info in bundle.infolist():
            path = Path(bundle.extract(info, target))
            path.chmod(info.external_attr >> 16 & 0o777)


# -- Gradescope ---------------------------------------------------------------
@pytest.fixture(scope="module")
def autograder(tmp_path_factory, wheelhouse) -> Path:
    """A fake /autograder: the bundle unpacked into source/, setup.sh run, run_autograder in place."""
    work = tmp_path_factory.mktemp("gradescope")
    built = run([str(HARNESS), "bundle", "gradescope", "--config", str(SAMPLE), "-o", str(work / "autograder.zip")])
    assert built.returncode == 0, built.stderr
    root = work / "autograder"
    unzip(work / "autograder.zip", root / "source")
    apt_log = work / "apt.log"
    fake_apt = work / "apt-get"
    fake_apt.write_text(f'#!/bin/sh\necho "$@" >> {apt_log}\n')
    fake_apt.chmod(0o755)
    setup = run(["bash", str(root / "source" / "setup.sh")], cwd=root / "source",
                env=offline_env(wheelhouse, AUTOGRADER_ROOT=str(root), HARNESS_APT_GET=str(fake_apt)))
    assert setup.returncode == 0, setup.stdout + setup.stderr
    # Nothing to install from the distribution when Python >= 3.11 and bwrap are there.
    expected_apt = "" if shutil.which("bwrap") else "bubblewrap"
    assert expected_apt in (apt_log.read_text() if apt_log.exists() else "")
    if shutil.which("bwrap"):
        assert not apt_log.exists()
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")  # as Gradescope does
    return root


def grade_submission(root: Path, files: dict[str, str]) -> dict:
    shutil.rmtree(root / "submission", ignore_errors=True)
    shutil.rmtree(root / "results", ignore_errors=True)
    for name, text in files.items():
        (root / "submission" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "submission" / name).write_text(text)
    env = {k: v for k, v in os.environ.items() if k != "HARNESS"}
    completed = run([str(root / "run_autograder")], cwd=root, env={**env, "AUTOGRADER_ROOT": str(root)})
    assert completed.returncode == 0, completed.stderr
    data = json.loads((root / "results" / "results.json").read_text())
    assert gradescope_schema_errors(data) == []
    assert float_sum([t["score"] for t in data["tests"]]) == data["score"]
    assert float_sum([t["max_score"] for t in data["tests"]]) == MAX_SCORE
    return data


def test_bundle_holds_the_scripts_the_assignment_and_the_harness_wheel(autograder):
    source = autograder / "source"
    names = sorted(p.name for p in source.iterdir())
    assert names == ["harness.toml", "run_autograder", "setup.sh", next(p.name for p in source.glob("*.whl"))]
    assert os.access(source / "setup.sh", os.X_OK) and os.access(source / "run_autograder", os.X_OK)
    assert (source / "harness.toml").read_bytes() == SAMPLE.read_bytes()
    assert "socket-conformance-harness" not in (source / "setup.sh").read_text()


def test_setup_installs_the_bundled_wheel_not_the_checkout(autograder):
    installed = list((autograder / "venv" / "lib").glob("python3*/site-packages/harness/suites/test_echo.py"))
    assert installed, "the harness (with its suites) is not installed in the autograder's venv"
    assert not list((autograder / "venv" / "lib").glob("python3*/site-packages/__editable__*"))


def test_good_submission_scores_exactly_the_maximum(autograder):
    data = grade_submission(autograder, {"server.py": (REFERENCE / "tcp_echo.py").read_text()})
    assert data["score"] == MAX_SCORE
    assert all(t["status"] == "passed" for t in data["tests"])


def test_buggy_submission_in_a_folder_loses_exactly_its_checks_share(autograder):
    data = grade_submission(autograder, {"my-project/server.py": (SERVERS / "tcp_single_client.py").read_text()})
    assert [t["name"] for t in data["tests"] if t["status"] == "failed"] == ["echo::serves_next_client"]
    assert data["score"] == MAX_SCORE - 5


def test_broken_submission_scores_zero_with_its_reason(autograder):
    data = grade_submission(autograder, {"server.py": BROKEN_SERVER})
    assert data["score"] == 0
    assert "could not be started" in data["output"] and "SyntaxError" in data["output"]


def test_missing_submission_file_scores_zero_and_says_which_file(autograder):
    data = grade_submission(autograder, {"README.md": "forgot the server"})
    assert data["score"] == 0
    assert "server not found: 'server.py'" in data["output"]


def test_installed_copy_bundles_the_same_harness_as_the_checkout(autograder, tmp_path):
    """The wheel built by a pip-installed harness (from RECORD) holds what the checkout's (from pyproject) holds."""
    second = tmp_path / "again.zip"
    built = run([str(autograder / "venv" / "bin" / "harness"), "bundle", "gradescope", "--config", str(SAMPLE),
                 "-o", str(second)], cwd=tmp_path)
    assert built.returncode == 0, built.stderr

    def wheel_files(archive: Path) -> dict[str, bytes]:
        with zipfile.ZipFile(archive) as bundle:
            name = next(n for n in bundle.namelist() if n.endswith(".whl"))
            (tmp_path / name).write_bytes(bundle.read(name))
        with zipfile.ZipFile(tmp_path / name) as wheel:
            return {n: wheel.read(n) for n in wheel.namelist() if n.startswith("harness/")}

    first = next((autograder / "source").glob("*.whl"))
    with zipfile.ZipFile(first) as wheel:
        original = {n: wheel.read(n) for n in wheel.namelist() if n.startswith("harness/")}
    assert wheel_files(second) == original


def test_setup_installs_python_and_bubblewrap_from_the_distribution_when_missing(tmp_path):
    """An image with only Python 3.10 (Gradescope's Ubuntu 22.04) gets python3.11 and python3.11-venv from apt."""
    old_python = tmp_path / "python3"
    old_python.write_text("#!/bin/sh\nexit 1\n")  # fails the `>= 3.11 with venv` test, as 3.10 would
    old_python.chmod(0o755)
    apt_log = tmp_path / "apt.log"
    fake_apt = tmp_path / "apt-get"
    fake_apt.write_text(f'#!/bin/sh\necho "$@" >> {apt_log}\n')
    fake_apt.chmod(0o755)
    script = tmp_path / "setup.sh"
    script.write_text(setup_sh("harness.whl"))
    env = {**os.environ, "AUTOGRADER_ROOT": str(tmp_path), "HARNESS_PYTHONS": str(old_python),
           "HARNESS_APT_GET": str(fake_apt)}
    completed = run(["bash", str(script)], env=env)
    if os.getuid() != 0:
        assert "that needs" in completed.stderr
        return
    installs = [line.split() for line in apt_log.read_text().splitlines() if line.startswith("install")]
    assert len(installs) == 1 and {"python3.11", "python3.11-venv"} <= set(installs[0])
    assert ("bubblewrap" in installs[0]) is (shutil.which("bwrap") is None)
    # The fake apt installed nothing: the script stops and says what it needs.
    assert completed.returncode == 1
    assert "needs Python 3.11 or newer" in completed.stderr
    assert not (tmp_path / "venv").exists()


def test_setup_skips_apt_when_told(tmp_path):
    old_python = tmp_path / "python3"
    old_python.write_text("#!/bin/sh\nexit 1\n")
    old_python.chmod(0o755)
    script = tmp_path / "setup.sh"
    script.write_text(setup_sh("harness.whl"))
    env = {**os.environ, "AUTOGRADER_ROOT": str(tmp_path), "HARNESS_PYTHONS": str(old_python),
           "HARNESS_NO_APT": "1", "HARNESS_APT_GET": "/nonexistent/apt-get"}
    completed = run(["bash", str(script)], env=env)
    assert completed.returncode == 1
    assert "not installing python3.11 python3.11-venv" in completed.stderr


# -- GitHub Classroom ---------------------------------------------------------
def run_steps(workflow: str) -> list[str]:
    """The `run:` scripts of the workflow's steps, in order (one-liners and `run: |` blocks)."""
    lines = workflow.splitlines()
    scripts = []
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped.startswith("run:"):
            continue
        if stripped != "run: |":
            scripts.append(stripped.removeprefix("run:").strip() + "\n")
            continue
        indent = len(line) - len(line.lstrip())
        body = []
        for following in lines[index + 1:]:
            if following.strip() and len(following) - len(following.lstrip()) <= indent:
                break
            body.append(following.strip())
        scripts.append("\n".join(body) + "\n")
    return scripts


def test_classroom_workflow_runs_from_the_folder_the_bundle_wrote(tmp_path, wheelhouse):
    repository = tmp_path / "course"
    repository.mkdir()
    shutil.copy(REFERENCE / "tcp_echo.py", repository / "server.py")
    built = run([str(HARNESS), "bundle", "classroom", "--config", str(SAMPLE), "--dir", str(repository)])
    assert built.returncode == 0, built.stderr
    workflow = (repository / ".github" / "workflows" / "classroom.yml").read_text()
    assert "socket-conformance-harness" not in workflow
    steps = run_steps(workflow)
    assert len(steps) == 2, steps  # install, then run
    # What actions/setup-python gives the job: a Python of its own on PATH, without the harness.
    runner_python = tmp_path / "runner-python"
    assert run([sys.executable, "-m", "venv", str(runner_python)]).returncode == 0
    outputs = tmp_path / "github_output"
    env = offline_env(wheelhouse, GITHUB_OUTPUT=str(outputs),
                      PATH=f"{runner_python / 'bin'}{os.pathsep}{os.environ['PATH']}")
    for number, script in enumerate(steps):
        path = tmp_path / f"step{number}.sh"
        path.write_text(script)
        # How GitHub runs a `run:` step with the default shell, in the checked-out repository.
        completed = run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(path)], cwd=repository, env=env)
        assert completed.returncode == 0, completed.stdout + completed.stderr
    assert (runner_python / "bin" / "harness").exists()
    values = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
    results = json.loads(base64.b64decode(values["result"]))
    assert values["exit"] == "0"
    assert results["status"] == "pass" and results["max_score"] == MAX_SCORE
    assert float_sum([t["score"] for t in results["tests"]]) == MAX_SCORE
    assert 'name="echo::binary_bytes"' in (repository / "harness-junit.xml").read_text()


def test_classroom_bundle_replaces_an_earlier_wheel(tmp_path):
    repository = tmp_path / "course"
    (repository / ".github" / "harness").mkdir(parents=True)
    (repository / ".github" / "harness" / "socket_conformance_harness-0.0.1-py3-none-any.whl").write_bytes(b"old")
    built = run([str(HARNESS), "bundle", "classroom", "--config", str(SAMPLE), "--dir", str(repository)])
    assert built.returncode == 0, built.stderr
    wheels = [p.name for p in (repository / ".github" / "harness").glob("*.whl")]
    assert len(wheels) == 1 and wheels[0] in (repository / ".github" / "workflows" / "classroom.yml").read_text()


# -- what travels, and bad input ----------------------------------------------
def test_every_file_the_assignment_names_travels_with_it(tmp_path):
    (tmp_path / "protocol").mkdir()
    (tmp_path / "protocol" / "kv_server.py").write_text("")
    (tmp_path / "protocol" / "kv.toml").write_text('name = "kv"\n[reference]\ncommand = ["kv_server.py", "{port}"]\n')
    config = tmp_path / "assignment.toml"
    config.write_text('protocol = "protocol/kv.toml"\ncommand = ["server.py", "{port}"]\n')
    assert [str(p) for p in assignment_files(config)] == ["assignment.toml", "protocol/kv.toml", "protocol/kv_server.py"]


def test_a_file_outside_the_assignment_folder_is_refused(tmp_path):
    (tmp_path / "kv.toml").write_text('name = "kv"\n')
    (tmp_path / "course").mkdir()
    config = tmp_path / "course" / "harness.toml"
    config.write_text('protocol = "../kv.toml"\n')
    with pytest.raises(ConfigError, match="outside the assignment's folder"):
        assignment_files(config)
    config.write_text('protocol = "missing.toml"\n')
    with pytest.raises(ConfigError, match="file not found"):
        assignment_files(config)


def test_bundle_without_a_command_or_a_file_is_a_usage_error(tmp_path):
    (tmp_path / "harness.toml").write_text('protocol = "tcp-echo"\n')
    completed = run([str(HARNESS), "bundle", "gradescope"], cwd=tmp_path)
    assert completed.returncode == 2 and "key 'command' is required" in completed.stderr
    assert not (tmp_path / "autograder.zip").exists()
    completed = run([str(HARNESS), "bundle", "classroom", "--config", "nope.toml"], cwd=tmp_path)
    assert completed.returncode == 2 and "assignment file not found" in completed.stderr


@pytest.mark.parametrize("command, entry", [
    (["server.py", "{port}"], "server.py"), (["python3", "server.py", "{port}"], "server.py"),
    (["node", "src/server.js", "--port", "{port}"], "src/server.js"), (["make", "run"], None),
])
def test_the_file_students_submit_comes_from_the_command(command, entry):
    assert server_file(command) == entry


def test_examples_are_what_the_bundle_writes_for_the_sample_assignment():
    """examples/ shows the generated scripts; regenerate them with the commands in examples/README.md."""
    distribution = harness_distribution()
    name = re.sub(r"[-_.]+", "_", distribution.metadata["Name"]).lower()
    wheel = f"{name}-{distribution.version}-py3-none-any.whl"
    examples = ROOT / "examples"
    assert (examples / "gradescope" / "setup.sh").read_text() == setup_sh(wheel)
    assert (examples / "gradescope" / "run_autograder").read_text() == run_autograder("server.py")
    assert (examples / "github-actions" / "classroom.yml").read_text() == classroom_workflow(wheel)


def test_nothing_in_the_repository_installs_the_harness_by_its_unpublished_name():
    """The distribution name is not on the package index: whoever registered it would run in every course."""
    name = harness_distribution().metadata["Name"]
    offenders = []
    for path in ROOT.rglob("*"):
        if not path.is_file() or {".git", "__pycache__"} & set(path.parts) or path.suffix in (".whl", ".pyc"):
            continue
        if any(part.endswith(".egg-info") for part in path.parts) or path == Path(__file__):
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if "install" in line and re.search(rf"(?<![\w./-]){re.escape(name)}(?![\w-])", line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []


def test_run_autograder_finds_a_nested_entry_and_runs_above_its_folder(tmp_path):
    """command = ["python3", "app/server.py", ...] and an upload of upload/app/server.py: run in upload/."""
    root = tmp_path / "autograder"
    (root / "source").mkdir(parents=True)
    (root / "source" / "harness.toml").write_text(
        SAMPLE.read_text().replace('command = ["server.py", "{port}"]', 'command = ["python3", "app/server.py", "{port}"]'))
    (root / "submission" / "upload" / "app").mkdir(parents=True)
    shutil.copy(REFERENCE / "tcp_echo.py", root / "submission" / "upload" / "app" / "server.py")
    script = root / "run_autograder"
    script.write_text(run_autograder("app/server.py"))
    script.chmod(0o755)
    completed = run([str(script)], env={**os.environ, "AUTOGRADER_ROOT": str(root), "HARNESS": str(HARNESS)})
    assert completed.returncode == 0, completed.stderr
    data = json.loads((root / "results" / "results.json").read_text())
    assert data["score"] == MAX_SCORE, data["output"]


def test_an_install_without_a_record_of_its_files_is_refused_not_bundled_empty(tmp_path, monkeypatch):
    import harness.cli.wheel as wheel_module

    class Bare:
        """A distribution pip did not record (no RECORD, no direct_url.json)."""
        metadata = {"Name": "socket-conformance-harness"}
        version = "0.1.0"
        files = None

        def read_text(self, name):
            return None

    monkeypatch.setattr(wheel_module, "harness_distribution", lambda: Bare())
    with pytest.raises(ConfigError, match="cannot tell which files make up the installed harness"):
        wheel_module.build_harness_wheel(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_classroom_repository_gets_the_reference_server_only_when_a_step_needs_it(tmp_path):
    """Blind 20 F2: students read their repository; the model answer was copied into it unasked."""
    blind = ROOT / "tests" / "protocols" / "blind"
    course = tmp_path / "course"
    course.mkdir()
    for name in ("calc.toml", "calc_ref.py"):  # no @reference step
        (course / name).write_bytes((blind / name).read_bytes())
    kv = ROOT / "examples" / "protocols" / "kv"  # HELP answers as the reference does
    for name in ("kv.toml", "kv_server.py"):
        (course / name).write_bytes((kv / name).read_bytes())
    for protocol, reference, travels in (("calc.toml", "calc_ref.py", False), ("kv.toml", "kv_server.py", True)):
        (course / "harness.toml").write_text(f'protocol = "{protocol}"\ncommand = ["server.py", "{{port}}"]\n')
        repository = tmp_path / f"repo-{protocol}"
        repository.mkdir()
        built = run([str(HARNESS), "bundle", "classroom", "--config", str(course / "harness.toml"),
                     "--dir", str(repository)])
        assert built.returncode == 0, built.stderr
        assert (repository / ".github" / "harness" / reference).exists() == travels, built.stdout
        assert (repository / ".github" / "harness" / protocol).exists()
        assert ("students can read it" in built.stdout) == travels, built.stdout
