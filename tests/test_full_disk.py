"""A full disk where the harness keeps its copies and captures (blind 14): another submission may have filled
it. It is the harness's trouble, never the student's: no silent partial copy judged as their server, no
traceback, the run ends as the harness's error (exit 4) and its report is still written."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import REFERENCE, TEST_REPLY_TIMEOUT, run_harness

from harness.errors import HarnessFault
from harness.server.output_capture import CapturedStream
from harness.system import scratch


def test_a_capture_on_a_full_disk_keeps_its_tail_and_raises_nothing():
    stream = CapturedStream("stdout", Path("/dev/full"), 1 << 20)  # every write: ENOSPC
    stream.feed(b"Traceback (most recent call last):\n")
    stream.feed(b"ValueError: the end\n")
    stream.close()
    assert stream.tail().endswith(b"ValueError: the end\n")


def test_a_copy_cut_short_by_a_full_disk_is_the_harness_fault(tmp_path, monkeypatch):
    source = tmp_path / "submission"
    source.mkdir()
    (source / "server.py").write_text("print('hi')\n")
    plan = scratch.plan(source, source / "server.py")

    def no_room(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(scratch, "copy_file", no_room)
    with pytest.raises(HarnessFault, match="no room left to copy the submission"):
        scratch.materialize(plan, tmp_path / "copy")


@pytest.fixture
def small_tmpdir(tmp_path):
    """A 4 MiB tmpfs, as TMPDIR: a grader's disk that another submission has filled."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root")
    folder = tmp_path / "small"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=1777", "tmpfs", str(folder)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def test_a_submission_too_big_for_the_full_disk_is_a_harness_error_not_a_grade(tmp_path, small_tmpdir):
    submission = tmp_path / "alice"
    submission.mkdir()
    shutil.copy(REFERENCE / "tcp_echo.py", submission / "server.py")
    (submission / "notes.bin").write_bytes(os.urandom(6 << 20))  # more than the disk has left
    run = run_harness("-k", "single_message", "--reply-timeout", TEST_REPLY_TIMEOUT, str(submission / "server.py"),
                      "{port}", tmp_path=tmp_path, env={"TMPDIR": str(small_tmpdir)})
    assert run.returncode == 4, run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr, run.stderr
    assert run.report["harness_error"] is True
    message = run.report["checks"][0]["message"]
    assert message.startswith(HarnessFault.PREFIX) and "No space left" in message, message
