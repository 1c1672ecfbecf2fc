"""`harness doctor` says what this machine gives an untrusted server and what to install."""

from __future__ import annotations

import subprocess
import sys

from harness.cli import doctor
from harness.system import bwrap


def test_doctor_reports_this_machines_mode_and_every_guarantee():
    completed = subprocess.run([sys.executable, "-m", "harness", "doctor"], capture_output=True, text=True, timeout=60)
    sandboxed = bwrap.unavailable_reason() is None
    assert completed.returncode == (0 if sandboxed else 1), completed.stdout + completed.stderr
    assert ("mode: sandboxed" in completed.stdout) == sandboxed
    for number, name in doctor.GUARANTEES.items():
        assert f"{number}. {name}" in completed.stdout


def test_without_bubblewrap_doctor_says_what_to_install_and_what_the_fallback_lacks():
    facts = {**doctor.facts(), "bwrap": None, "bwrap_version": "", "root": False,
             "bwrap_problem": "bwrap (bubblewrap) is not installed"}
    text = doctor.report(facts)
    assert "mode: fallback as a normal user" in text
    assert "to do: install bubblewrap: apt-get install bubblewrap" in text
    assert "no     2. confidentiality" in text and "partly 1. grade integrity" in text


def test_every_mode_names_all_six_guarantees():
    for verdicts in doctor.BY_MODE.values():
        assert set(verdicts) == set(doctor.GUARANTEES)
        assert all(v.partition(":")[0] in ("yes", "partly", "no") for v in verdicts.values())


def test_doctor_says_in_one_line_whether_the_memory_limit_counts_memfd():
    with_cgroup = doctor.report({**doctor.facts(), "memcg_problem": None})
    without = doctor.report({**doctor.facts(), "memcg_problem": "no memory cgroup controller is mounted"})
    assert len([line for line in with_cgroup.splitlines() if "counts shared memory, tmpfs files and memfd" in line]) == 1
    assert "yes  memory limit counts shared memory, tmpfs files and memfd" in with_cgroup
    assert "no   memory limit counts shared memory, tmpfs files and memfd (no memory cgroup controller" in without
