"""A server run by a virtualenv's python (Twisted, gevent, trio installed there) starts in the sandbox:
blind 19 found every such server unable to start ("could not execute .../venv/bin/python")."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from conftest import FALLBACK

from harness.system import bwrap

pytestmark = pytest.mark.skipif(bool(FALLBACK) or bwrap.unavailable_reason() is not None,
                                reason="bubblewrap does not run here (the fallback shows every folder)")

#: An echo server that needs a package only the virtualenv has.
SERVER = ("import socket, sys, only_in_the_venv\nlistener = socket.create_server(('127.0.0.1', int(sys.argv[1])))\n"
          "while True:\n    conn, _ = listener.accept()\n    with conn:\n"
          "        while data := conn.recv(65536):\n            conn.sendall(data)\n")


def make_venv(folder: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True, timeout=120)
    purelib = Path(sysconfig.get_path("purelib", vars={"base": str(folder), "platbase": str(folder)}))
    purelib.mkdir(parents=True, exist_ok=True)
    (purelib / "only_in_the_venv.py").write_text("")
    return folder / "bin" / "python"


def test_a_server_run_by_a_virtualenvs_python_named_by_its_path_starts(harness, tmp_path):
    python = make_venv(tmp_path / "env")
    project = tmp_path / "project"
    project.mkdir()
    (project / "server.py").write_text(SERVER)
    run = harness("--check", "echo::single_message", "--", str(python), str(project / "server.py"), "{port}")
    assert run.outcomes() == {"echo::single_message": "passed"}, run.stdout


def test_a_virtualenv_in_the_project_folder_is_used_where_it_is(harness, tmp_path):
    """The scratch copy leaves virtualenvs out; the one named as the program is shown where it was made."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "server.py").write_text(SERVER)
    make_venv(project / ".venv")
    run = harness("--check", "echo::single_message", "--", ".venv/bin/python", "server.py", "{port}", cwd=project)
    assert run.outcomes() == {"echo::single_message": "passed"}, run.stdout


def test_a_submissions_virtualenv_python_that_links_into_a_graders_folder_is_not_shown(harness, tmp_path):
    """The link decides which folders the sandbox shows: a student's must not name one of the grader's."""
    secret = tmp_path / "grader" / "bin"
    secret.mkdir(parents=True)
    (secret / "python").write_text("#!/bin/sh\nexec python3 \"$@\"\n")
    (secret / "python").chmod(0o755)
    (tmp_path / "grader" / "solution.txt").write_text("the model answer")
    project = tmp_path / "project"
    (project / ".venv" / "bin").mkdir(parents=True)
    (project / ".venv" / "pyvenv.cfg").write_text(f"home = {secret}\n")
    os.symlink(secret / "python", project / ".venv" / "bin" / "python")
    (project / "server.py").write_text(SERVER.replace(", only_in_the_venv", ""))
    run = harness("--check", "echo::single_message", "--", ".venv/bin/python", "server.py", "{port}", cwd=project)
    assert run.returncode == 3, run.stdout  # it cannot start: nothing of the grader's folder is shown
    assert "outside the submission folder" in run.report["server"]["startup_error"]


def test_a_venv_made_with_the_systems_python_is_used(harness, tmp_path):
    """Blind 22 A7: its python, a link to /usr/bin/python3, was refused as a link out of the submission."""
    system = "/usr/bin/python3"
    if not os.path.exists(system):
        pytest.skip("no system python3")
    project = tmp_path / "project"
    project.mkdir()
    (project / "server.py").write_text(SERVER.replace(", only_in_the_venv", ""))
    subprocess.run([system, "-m", "venv", "--without-pip", str(project / ".venv")], check=True, timeout=120)
    run = harness("--check", "echo::single_message", "--", ".venv/bin/python", "server.py", "{port}", cwd=project)
    assert run.outcomes() == {"echo::single_message": "passed"}, run.stdout


def test_a_venv_that_is_a_link_to_a_classmates_is_not_shown(harness, tmp_path):
    """Blind 22 A2: `.venv -> ../dave/.venv` showed dave's venv (his code, pip-installed) in mallory's sandbox."""
    dave = tmp_path / "dave"
    dave.mkdir()
    make_venv(dave / ".venv")
    mallory = tmp_path / "mallory"
    mallory.mkdir()
    os.symlink("../dave/.venv", mallory / ".venv")
    (mallory / "server.py").write_text(SERVER)  # needs only_in_the_venv, which only dave's venv has
    run = harness("--check", "echo::single_message", "--", ".venv/bin/python", "server.py", "{port}", cwd=mallory)
    assert run.returncode == 3, run.stdout
