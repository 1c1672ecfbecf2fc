"""`harness grade`: a folder of submissions in, the right scores and a gradebook
CSV out — in parallel, with hard-coded ports detected and graded alone, and a
hung, signal-ignoring submission stopped at its time limit without a trace."""

from __future__ import annotations

import csv
import io
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

from conftest import REFERENCE, SERVERS, TEST_REPLY_TIMEOUT, leftover_server_processes

from harness.cli.progress import Progress

CONFIG = f"""
protocol = "tcp-echo"
command = ["server.py", "{{port}}"]
suites = ["echo"]
reply-timeout = {TEST_REPLY_TIMEOUT}
[points]
echo = 90
"""

#: A correct echo server that ignores {port}/$PORT: the port is written into its source.
HARDCODED = """
import socket, threading
PORT = {port}
def handle(conn):
    with conn:
        while data := conn.recv(65536):
            conn.sendall(data)
sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", PORT))
sk.listen()
while True:
    conn, _ = sk.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
"""

#: Never listens and ignores SIGINT/SIGTERM: only a time limit and SIGKILL stop it.
STUBBORN = """
import signal, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("thinking...", flush=True)
while True:
    time.sleep(1)
"""


def free_port() -> int:
    """A port below the harness's assigned range (20000-31999) that nobody listens on now."""
    for _ in range(100):
        port = random.randrange(12000, 19999)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port")


def make_submissions(root: Path, sources: dict[str, Path | str | None]) -> Path:
    folder = root / "submissions"
    for name, source in sources.items():
        (folder / name).mkdir(parents=True)
        if isinstance(source, Path):
            shutil.copy(source, folder / name / "server.py")
        elif isinstance(source, str):
            (folder / name / "server.py").write_text(source)
    return folder


def grade(tmp_path: Path, *args: str, config: str = CONFIG, timeout: float = 300):
    (tmp_path / "harness.toml").write_text(config)
    marker = uuid.uuid4().hex
    started = time.monotonic()
    completed = subprocess.run(
        [sys.executable, "-m", "harness", "grade", *args], cwd=tmp_path, capture_output=True, text=True,
        timeout=timeout, stdin=subprocess.DEVNULL, env={**os.environ, "HARNESS_TEST_RUN": marker},
    )
    elapsed = time.monotonic() - started
    assert not leftover_server_processes(f"HARNESS_TEST_RUN={marker}"), "a submission's server survived the batch"
    return completed, elapsed


def gradebook(path: Path) -> dict[str, dict[str, str]]:
    with open(path, newline="") as f:
        return {row["submission"]: row for row in csv.DictReader(f)}


def test_grade_scores_a_class_in_parallel_and_writes_the_gradebook(tmp_path):
    port = free_port()
    folder = make_submissions(tmp_path, {
        "alice_good": REFERENCE / "tcp_echo.py",
        "bob_upper": SERVERS / "tcp_upper.py",
        "carol_single_client": SERVERS / "tcp_single_client.py",
        "dave_crashes": SERVERS / "crashes_at_start.py",
        "erin_nothing": None,
        "frank_port": HARDCODED.format(port=port),
        "grace_same_port": HARDCODED.format(port=port),
    })
    completed, _ = grade(tmp_path, "-j", "2", str(folder))
    assert completed.returncode == 0, completed.stderr
    book = gradebook(tmp_path / "grades" / "gradebook.csv")
    scores = {name: float(row["score"]) for name, row in book.items()}
    assert scores == {"alice_good": 90, "bob_upper": 0, "carol_single_client": 81, "dave_crashes": 0,
                      "erin_nothing": 0, "frank_port": 90, "grace_same_port": 90}
    assert {row["max_score"] for row in book.values()} == {"90"}
    assert book["carol_single_client"]["echo"] == "81" and book["carol_single_client"]["echo max"] == "90"
    assert book["dave_crashes"]["status"] == "startup error"
    assert "exited before it listened" in book["dave_crashes"]["startup_error"]
    assert book["erin_nothing"]["status"] == "no server"
    assert "no server.py in the submission" in book["erin_nothing"]["startup_error"]
    for name in ("frank_port", "grace_same_port"):
        assert f"listens on TCP 127.0.0.1:{port}" in book[name]["notes"]
        assert "graded alone" in book[name]["notes"]
    report = json.loads((tmp_path / "grades" / "bob_upper.json").read_text())
    assert report["score"]["points"] == 0 and report["summary"]["failed"] == 10
    assert "\r" not in completed.stderr  # not a terminal: plain lines, no bar
    assert completed.stderr.count("] ") >= 7


def test_hung_submission_is_stopped_at_its_time_limit(tmp_path):
    folder = make_submissions(tmp_path, {"stubborn": STUBBORN, "good": REFERENCE / "tcp_echo.py"})
    config = "startup-timeout = 120\n" + CONFIG
    completed, elapsed = grade(tmp_path, "-j", "2", "--timeout", "4", str(folder), config=config)
    assert completed.returncode == 0, completed.stderr
    book = gradebook(tmp_path / "grades" / "gradebook.csv")
    assert book["stubborn"]["status"] == "timeout" and book["stubborn"]["score"] == "0"
    assert "time limit" in book["stubborn"]["notes"]
    assert book["good"]["score"] == "90"
    assert elapsed < 60, "the batch waited for the hung submission"


def test_grade_without_assignment_file_is_a_usage_error(tmp_path):
    (tmp_path / "subs" / "a").mkdir(parents=True)
    completed = subprocess.run([sys.executable, "-m", "harness", "grade", "subs"], cwd=tmp_path,
                               capture_output=True, text=True, timeout=60)
    assert completed.returncode == 2
    assert "needs an assignment file" in completed.stderr


def test_progress_bar_only_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    for stream, bar in ((io.StringIO(), False), (Terminal(), True)):
        progress = Progress(2, stream)
        progress.started("a")
        progress.finished("a", "3/3 passed")
        progress.close()
        assert ("\r" in stream.getvalue()) is bar
        assert "[1/2] a: 3/3 passed" in stream.getvalue()


def test_grade_refuses_output_paths_and_limits_it_cannot_use_before_grading_anyone(tmp_path):
    folder = make_submissions(tmp_path, {"good": REFERENCE / "tcp_echo.py"})
    (tmp_path / "a_file").write_text("")
    (tmp_path / "a_folder").mkdir()
    for args, said in ((("--out", "a_file"), "--out 'a_file' is a file"),
                       (("--gradebook", "a_folder"), "--gradebook 'a_folder' is a folder"),
                       (("--timeout", "nan"), "invalid --timeout nan"),
                       (("--timeout", "inf"), "invalid --timeout inf")):
        completed, elapsed = grade(tmp_path, *args, str(folder))
        assert completed.returncode == 2 and said in completed.stderr, (args, completed.stderr)
        assert "Traceback" not in completed.stderr
        assert not (tmp_path / "grades" / "good.json").exists(), args  # nobody was graded


def test_a_server_file_in_a_subfolder_is_graded_there_and_a_macos_zip_folder_is_no_student(tmp_path):
    """Blind 20 F3/F8: kvstore/server.py scored 0 ("no server") here and 100 on Gradescope, whose script
    looks a few levels down; `__MACOSX` (every macOS unzip makes one) was graded as a student with 0."""
    folder = make_submissions(tmp_path, {"alice": None, "bob": None})
    (folder / "alice" / "kvstore").mkdir()
    shutil.copy(REFERENCE / "tcp_echo.py", folder / "alice" / "kvstore" / "server.py")
    (folder / "bob" / "deep").mkdir()
    os.symlink(folder / "alice" / "kvstore", folder / "bob" / "linked")  # no link is followed
    (folder / "__MACOSX" / "alice").mkdir(parents=True)
    (folder / "__MACOSX" / "alice" / "._server.py").write_bytes(b"\x00\x05\x16\x07")
    completed, _ = grade(tmp_path, str(folder))
    assert completed.returncode == 0, completed.stderr
    book = gradebook(tmp_path / "grades" / "gradebook.csv")
    assert set(book) == {"alice", "bob"}
    assert float(book["alice"]["score"]) == 90 and "graded in kvstore/" in book["alice"]["notes"], book["alice"]
    assert book["bob"]["status"] == "no server"
    # Blind 20 F9: the log named the reports in the batch's private folder, removed at its end.
    log = (tmp_path / "grades" / "alice.log").read_text()
    assert f"report: {tmp_path / 'grades' / 'alice.json'}" in log and ".harness-grade-" not in log, log[-500:]
