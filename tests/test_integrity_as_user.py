"""The modes of a harness run by a normal user (students), proven by running
the harness as `nobody` (uid 65534) from root: sandboxed (bubblewrap in a
user namespace) and the fallback (`--no-bwrap`).

The interpreter must be one a normal user may run: the system's python3 of
the same minor version, in a throw-away virtualenv whose path file points at
this harness and at the test interpreter's site-packages (pure Python plus
psutil, ABI-compatible within a minor version). Skipped where that cannot be.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest
from conftest import REFERENCE, SERVERS

from harness.system import bwrap
from harness.system.sandbox import reachable_by_others

NOBODY = 65534
HARNESS_HOME = Path(__file__).resolve().parent.parent


def _system_python() -> str | None:
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if not (os.access(candidate, os.X_OK) and reachable_by_others(candidate)):
            continue
        version = subprocess.run([candidate, "-c", "import sys; print(sys.version_info[:2])"], capture_output=True,
                                 text=True, timeout=30).stdout.strip()
        if version == str(tuple(sys.version_info[:2])):
            return candidate
    return None


@pytest.fixture(scope="module")
def as_user():
    """Call as as_user(*harness_args, cwd=FOLDER) -> (completed process, JSON report or None)."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv(1) to run the harness as another user")
    python = _system_python()
    if python is None:
        pytest.skip(f"no system python3 {sys.version_info[0]}.{sys.version_info[1]} a normal user may run")
    import site

    paths = [*site.getsitepackages(), str(HARNESS_HOME)]
    if not all(reachable_by_others(os.path.join(p, ".")) or os.access(p, os.R_OK) for p in paths):
        pytest.skip("this harness or its packages are out of a normal user's reach")
    root = Path(tempfile.mkdtemp(prefix="harness-as-user-"))
    root.chmod(0o755)
    subprocess.run([python, "-m", "venv", "--without-pip", str(root / "venv")], check=True, timeout=120)
    site_dir = next((root / "venv" / "lib").glob("python3*/site-packages"))
    (site_dir / "harness_under_test.pth").write_text("\n".join(paths) + "\n")

    def call(*args: str, cwd: Path) -> tuple[subprocess.CompletedProcess, dict | None]:
        report = cwd / f"report-{uuid.uuid4().hex}.json"
        completed = subprocess.run(
            ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--",
             str(root / "venv" / "bin" / "python"), "-m", "harness", "run", "--json", str(report), *args],
            cwd=cwd, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(cwd), "TMPDIR": str(cwd),
                 "LANG": "C.UTF-8"})
        return completed, (json.loads(report.read_text()) if report.exists() else None)

    yield call
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def home():
    folder = Path(tempfile.mkdtemp(prefix="harness-nobody-"))
    os.chown(folder, NOBODY, NOBODY)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _copy_for_user(source: Path, folder: Path) -> Path:
    target = folder / source.name
    shutil.copy(source, target)
    os.chown(target, NOBODY, NOBODY)
    return target


@pytest.mark.parametrize("mode", ["sandboxed", "fallback"])
def test_a_normal_users_run_grades_the_reference_server_truly(as_user, home, mode):
    if mode == "sandboxed" and bwrap.unavailable_reason() is not None:
        pytest.skip(bwrap.unavailable_reason())
    server = _copy_for_user(REFERENCE / "tcp_echo.py", home)
    completed, report = as_user(*(["--no-bwrap"] if mode == "fallback" else []), "--suite", "echo",
                                str(server), "{port}", cwd=home)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert report is not None and report["summary"]["failed"] == 0 and report["summary"]["passed"] >= 9
    assert "no sandbox" not in completed.stderr  # sandboxed where asked; --no-bwrap asks for no note


def test_a_sandboxed_server_of_a_normal_user_cannot_read_the_users_other_files(as_user, home):
    if bwrap.unavailable_reason() is not None:
        pytest.skip(bwrap.unavailable_reason())
    private = home / "private"
    private.mkdir()
    secret = private / "other-homework.txt"
    secret.write_text("THE USER'S OTHER WORK\n")
    for path in (private, secret):
        os.chown(path, NOBODY, NOBODY)
    folder = home / "submission"
    folder.mkdir()
    os.chown(folder, NOBODY, NOBODY)
    server = _copy_for_user(SERVERS / "hostile_reads_others.py", folder)
    completed, report = as_user("-k", "single_message", str(server), str(secret), cwd=home)
    assert report is not None, completed.stderr
    output = report["checks"][0].get("server_output") or ""
    got = json.loads(next(line for line in output.splitlines() if line.startswith("GOT "))[4:])
    assert got[str(secret)].startswith("DENIED"), got
    assert secret.read_text() == "THE USER'S OTHER WORK\n"
