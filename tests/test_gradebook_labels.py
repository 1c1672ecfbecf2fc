"""What the gradebook says about a submission, and who may write it: a missing
server is "no server" (with the file looked for), a crash at start carries the
server's last line, nothing is printed after the interrupt line, and two
`harness grade` runs cannot write one output folder at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from conftest import leftover_server_processes
from test_grade import CONFIG, STUBBORN, grade, gradebook, make_submissions

from harness.cli.folder_lock import hold_folder
from harness.cli.progress import Progress

INTERRUPT_LINE = "harness: interrupted; gradebook of the "


def test_missing_server_file_is_no_server_with_the_file_looked_for(tmp_path):
    folder = make_submissions(tmp_path, {"erin": None})
    (folder / "erin" / "README.md").write_text("forgot it")
    (folder / "erin" / "server.js").write_text("// wrote it in Node\n")  # named, as what the folder has
    completed, _ = grade(tmp_path, str(folder))
    assert completed.returncode == 0, completed.stderr
    row = gradebook(tmp_path / "grades" / "gradebook.csv")["erin"]
    assert row["status"] == "no server" and row["score"] == "0"
    assert "no server.py in the submission" in row["startup_error"]
    assert row["startup_error"].endswith("; it has server.js"), row["startup_error"]
    assert str(folder / "erin" / "server.py") in row["startup_error"]


def test_server_crashing_at_start_shows_its_last_line_in_the_gradebook(tmp_path):
    folder = make_submissions(tmp_path, {"frank": "import socket\n\ndef main(:\n    pass\n"})
    completed, _ = grade(tmp_path, str(folder))
    assert completed.returncode == 0, completed.stderr
    row = gradebook(tmp_path / "grades" / "gradebook.csv")["frank"]
    assert row["status"] == "startup error"
    assert "exited before it listened" in row["startup_error"]
    assert row["startup_error"].endswith("SyntaxError: invalid syntax")


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def interrupted_batch(tmp_path: Path, folder: Path, config: str, ready, wait: float,
                      settle: float = 0.0) -> tuple[int, str, str]:
    """`harness grade -j 2` interrupted (SIGINT) once `ready()` holds (and `settle` s more):
    (its exit code, its stderr, the marker its processes carry)."""
    (tmp_path / "harness.toml").write_text(config)
    marker = uuid.uuid4().hex
    process = subprocess.Popen([sys.executable, "-m", "harness", "grade", "-j", "2", str(folder)], cwd=tmp_path,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "HARNESS_TEST_RUN": marker})
    try:
        wait_for(ready, wait, "the batch to get that far")
        time.sleep(settle)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return process.returncode, stderr, marker


def test_nothing_is_printed_after_the_interrupt_line(tmp_path):
    """Runs still finishing after Ctrl+C (here two stubborn servers) stay silent."""
    folder = make_submissions(tmp_path, {"a": STUBBORN, "b": STUBBORN, "c": STUBBORN})
    logs = [tmp_path / "grades" / "a.log", tmp_path / "grades" / "b.log"]
    code, stderr, marker = interrupted_batch(
        tmp_path, folder, CONFIG, lambda: all(log.exists() and log.stat().st_size for log in logs), 60)
    assert code == 130, stderr
    assert stderr.rstrip().splitlines()[-1].startswith(INTERRUPT_LINE)
    book = gradebook(tmp_path / "grades" / "gradebook.csv")  # what was graded so far; the rest interrupted
    assert book and all(row["status"] == "interrupted" or row["score"] for row in book.values()), book
    assert not leftover_server_processes(f"HARNESS_TEST_RUN={marker}")


def test_an_interrupted_batch_keeps_every_run_that_finished_and_says_what_it_printed(tmp_path):
    """-j 2: the good submission finishes while the stubborn one still runs; Ctrl+C then. The good one keeps
    its full score (it was printed as graded), the stopped one is interrupted, the one never started is
    interrupted with 0; every file in --out is private (0600)."""
    from test_grade import REFERENCE

    folder = make_submissions(tmp_path, {"a_stubborn": STUBBORN, "b_good": REFERENCE / "tcp_echo.py",
                                         "c_later": REFERENCE / "tcp_echo.py"})
    done = tmp_path / "grades" / "b_good.log"
    code, stderr, marker = interrupted_batch(tmp_path, folder, "startup-timeout = 120\n" + CONFIG,
                                             lambda: done.exists() and done.stat().st_size, 90, settle=0.5)
    assert code == 130, stderr
    book = gradebook(tmp_path / "grades" / "gradebook.csv")
    assert book["b_good"]["status"] == "passed" and book["b_good"]["score"] == "90", book
    assert book["a_stubborn"]["status"] == "interrupted" and book["a_stubborn"]["score"] == "0"
    graded = stderr.split(INTERRUPT_LINE)[1].split(" submission(s)")[0]
    assert int(graded) == sum(1 for row in book.values() if "not graded" not in row["notes"]), (stderr, book)
    for path in (tmp_path / "grades").iterdir():
        if path.is_file():
            assert path.stat().st_mode & 0o777 == 0o600, path
    assert not leftover_server_processes(f"HARNESS_TEST_RUN={marker}")


def test_progress_prints_nothing_once_closed():
    import io

    stream = io.StringIO()
    progress = Progress(2, stream)
    progress.finished("alice", "60/60 passed")
    progress.close()
    progress.finished("bob", "0/60 startup error")
    progress.note("late")
    assert stream.getvalue() == "[1/2] alice: 60/60 passed\n"


def test_second_grade_into_the_same_folder_is_refused_and_names_the_holder(tmp_path):
    folder = make_submissions(tmp_path, {"alice": None})
    out = tmp_path / "grades"
    out.mkdir()
    with hold_folder(out):
        completed, _ = grade(tmp_path, str(folder), "--out", str(out))
    assert completed.returncode == 2
    assert "is being written by another harness grade" in completed.stderr
    assert f"pid {os.getpid()}" in completed.stderr
    assert not (out / "gradebook.csv").exists() and not (out / "alice.json").exists()
    completed, _ = grade(tmp_path, str(folder), "--out", str(out))  # released: the next one runs
    assert completed.returncode == 0, completed.stderr
    assert (out / "gradebook.csv").exists()


def test_the_lock_is_released_when_its_holder_dies(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from harness.cli.folder_lock import hold_folder\n"
        f"with hold_folder(Path({str(tmp_path)!r})):\n    print('held', flush=True); time.sleep(600)")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        holder.kill()
        holder.wait(timeout=30)
        with hold_folder(Path(tmp_path)):
            pass
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
