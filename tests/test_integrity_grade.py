"""Grade integrity (SPEC §5.1, issue #12 attacks 1, 5, 6, 12): a submission
cannot forge its grade through files in its folder or planted report paths,
and a batch stopped or killed leaves nothing running.

Each attack is a submission folder (or a planted file) that tries; the test
asserts the true score, the victim file unchanged, no process left.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from conftest import REFERENCE, SERVERS, TEST_REPLY_TIMEOUT, leftover_server_processes, run_harness
from test_grade import CONFIG, STUBBORN, grade, gradebook, make_submissions

from harness.cli.progress import Progress

#: A `harness` package that, if ever imported by the harness, writes a full-marks report.
FORGING_PACKAGE = """
import json, sys
args = sys.argv
path = args[args.index("--json") + 1] if "--json" in args else "forged.json"
json.dump({"score": {"points": 90, "max_points": 90, "suites": {}}, "summary": {"passed": 9}, "server": {}},
          open(path, "w"))
sys.exit(0)
"""
#: Modules named like ones the harness imports; each would break it if imported.
POISONED = "raise SystemExit('the harness imported a file from the submission folder')\n"


def poison(folder: Path) -> None:
    (folder / "harness").mkdir()
    (folder / "harness" / "__init__.py").write_text(FORGING_PACKAGE)
    (folder / "harness" / "__main__.py").write_text(FORGING_PACKAGE)
    for name in ("argparse.py", "json.py", "sitecustomize.py", "pytest.py", "conftest.py", "csv.py"):
        (folder / name).write_text(POISONED)
    (folder / "pytest.ini").write_text("[pytest]\naddopts = --this-option-does-not-exist\n")
    (folder / "harness.toml").write_text('protocol = "udp-echo"\ncommand = ["nothing.py"]\n[points]\necho = 1000\n')


def test_files_in_a_submission_folder_do_not_reach_the_harness(tmp_path):
    folder = make_submissions(tmp_path, {"forger": SERVERS / "crashes_at_start.py",
                                         "innocent": REFERENCE / "tcp_echo.py"})
    poison(folder / "forger")
    (folder / "forger" / "socket.py").write_text(POISONED)  # the harness's `socket` is never this one
    poison(folder / "innocent")  # an honest student's `json.py` must not break their grading either
    completed, _ = grade(tmp_path, "-j", "2", str(folder))
    assert completed.returncode == 0, completed.stderr
    book = gradebook(tmp_path / "grades" / "gradebook.csv")
    assert book["forger"]["score"] == "0" and book["forger"]["status"] == "startup error", book["forger"]
    assert book["innocent"]["score"] == "90" and book["innocent"]["status"] == "passed", book["innocent"]
    assert not (folder / "forger" / "forged.json").exists()


def test_planted_report_temporaries_and_links_change_nothing(tmp_path):
    folder = make_submissions(tmp_path, {"mallory": SERVERS / "crashes_at_start.py"})
    out = tmp_path / "grades"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("the instructor's file\n")
    (out / "mallory.json.tmp").symlink_to(victim)
    (out / "gradebook.csv.tmp").symlink_to(victim)
    (out / "mallory.log").symlink_to(victim)
    forged = {"score": {"points": 90, "max_points": 90}, "summary": {}, "server": {}}
    (out / "mallory.json").write_text(json.dumps(forged))
    completed, _ = grade(tmp_path, str(folder))
    assert completed.returncode == 0, completed.stderr
    assert victim.read_text() == "the instructor's file\n"
    report = json.loads((out / "mallory.json").read_text())
    assert report["score"]["points"] == 0 and report["score"]["max_points"] == 90
    assert gradebook(out / "gradebook.csv")["mallory"]["score"] == "0"
    assert not (out / "mallory.log").is_symlink()
    assert [p.name for p in out.iterdir() if p.name.startswith(".harness-grade-")] == []


def test_a_planted_temporary_next_to_a_run_report_is_not_followed(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    report = tmp_path / "out.json"
    Path(str(report) + ".tmp").symlink_to(victim)
    run = run_harness("--json", str(report), "-k", "single_message", "--reply-timeout", TEST_REPLY_TIMEOUT,
                      str(REFERENCE / "tcp_echo.py"), "{port}", tmp_path=tmp_path)
    assert run.returncode == 0, run.stderr
    assert victim.read_text() == "keep me\n"
    assert json.loads(report.read_text())["summary"]["passed"] == 1


def test_two_batches_on_one_out_folder_both_score_truly(tmp_path):
    folder = make_submissions(tmp_path, {"a_good": REFERENCE / "tcp_echo.py", "b_good": REFERENCE / "tcp_echo.py"})
    (tmp_path / "harness.toml").write_text(CONFIG)
    marker = uuid.uuid4().hex
    batches = [subprocess.Popen([sys.executable, "-m", "harness", "grade", str(folder), "--gradebook", f"book{i}.csv"],
                                cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                stdin=subprocess.DEVNULL, env={**os.environ, "HARNESS_TEST_RUN": marker})
               for i in range(2)]
    ended = [(batch.returncode, stderr) for batch in batches for _, stderr in [batch.communicate(timeout=300)]]
    assert any(code == 0 for code, _ in ended), ended
    for i, (code, stderr) in enumerate(ended):
        if code == 0:  # it graded: every score is true
            book = gradebook(tmp_path / f"book{i}.csv")
            assert {name: row["score"] for name, row in book.items()} == {"a_good": "90", "b_good": "90"}, book
        else:  # the other one found the folder held, said by whom, and wrote no gradebook
            assert code == 2 and "being written by another harness grade" in stderr, stderr
            assert not (tmp_path / f"book{i}.csv").exists()
    assert not leftover_server_processes(f"HARNESS_TEST_RUN={marker}")


def _start_batch(tmp_path: Path, folder: Path, *args: str, ignore_sigint: bool = False) -> tuple[subprocess.Popen, str]:
    (tmp_path / "harness.toml").write_text("startup-timeout = 120\n" + CONFIG)
    marker = uuid.uuid4().hex

    def background() -> None:  # as `harness grade &` in a script: SIGINT ignored
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    batch = subprocess.Popen([sys.executable, "-m", "harness", "grade", str(folder), *args], cwd=tmp_path,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                             env={**os.environ, "HARNESS_TEST_RUN": marker},
                             preexec_fn=background if ignore_sigint else None)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not _servers_of(marker):  # the stubborn server is running
        time.sleep(0.1)
    assert _servers_of(marker), "the submission's server never started"
    return batch, marker


def _servers_of(marker: str) -> list[str]:
    return [line for line in leftover_server_processes(f"HARNESS_TEST_RUN={marker}") if "server.py" in line]


def _wait_for_nothing_left(marker: str, bound: float) -> list[str]:
    deadline = time.monotonic() + bound
    left = leftover_server_processes(f"HARNESS_TEST_RUN={marker}")
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = leftover_server_processes(f"HARNESS_TEST_RUN={marker}")
    return left


def test_sigkilled_batch_leaves_no_run_and_no_server_behind(tmp_path):
    folder = make_submissions(tmp_path, {"stubborn": STUBBORN})
    batch, marker = _start_batch(tmp_path, folder, "--timeout", "300")
    batch.kill()
    batch.wait(timeout=30)
    left = _wait_for_nothing_left(marker, 45)
    assert not left, f"still running after harness grade was SIGKILLed: {left}"


def test_a_run_stops_itself_at_its_deadline_even_without_its_batch(tmp_path):
    (tmp_path / "server.py").write_text(STUBBORN)
    deadline = f"{time.time() + 3:.3f}"
    started = time.monotonic()
    run = run_harness("--startup-timeout", "120", "-k", "single_message", str(tmp_path / "server.py"),
                      tmp_path=tmp_path, env={"HARNESS_RUN_DEADLINE": deadline})
    assert time.monotonic() - started < 60
    assert run.returncode == 130, run.stderr
    assert "time limit" in run.stderr
    assert run.report is not None  # the report is written
    assert not leftover_server_processes(run.marker)


def test_background_batch_with_sigint_ignored_still_stops_on_ctrl_c_and_sigterm(tmp_path):
    folder = make_submissions(tmp_path, {"stubborn": STUBBORN})
    for sig in (signal.SIGINT, signal.SIGTERM):
        batch, marker = _start_batch(tmp_path, folder, "--timeout", "300", ignore_sigint=True)
        batch.send_signal(sig)
        _, stderr = batch.communicate(timeout=60)
        assert batch.returncode == 130, stderr
        assert not _wait_for_nothing_left(marker, 30)
        book = gradebook(tmp_path / "grades" / "gradebook.csv")  # written all the same
        assert book["stubborn"]["status"] == "interrupted" and book["stubborn"]["score"] == "0"


def test_a_submission_folder_named_with_control_sequences_is_shown_inert():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    for stream in (io.StringIO(), Terminal()):
        progress = Progress(1, stream)
        progress.started("eve\x1b[2K\r  ✓ all passed")
        progress.finished("eve\x1b[2K\r  ✓ all passed", "0/90 failed")
        progress.close()
        shown = stream.getvalue()
        assert "\x1b" not in shown and "eve\\x1b[2K\\x0d" in shown


def test_a_submission_folder_named_with_newlines_cannot_forge_progress_lines():
    """A name holding whole fake lines ('[3⁄3] mallory: 60⁄60 passed', a fraction slash for '/')
    stays on its own line: its newlines and tabs are shown as \\n and \\t."""
    name = "aaa: 0\u204460 startup error\n[3\u20443] mallory: 60\u204460 passed\n[1\u20443] aaa\tx"
    stream = io.StringIO()
    progress = Progress(1, stream)
    progress.started(name)
    progress.finished(name, "0/60 startup error")
    progress.close()
    lines = stream.getvalue().splitlines()
    assert lines == ["[1/1] aaa: 0\u204460 startup error\\n[3\u20443] mallory: 60\u204460 passed\\n[1\u20443] aaa\\tx: "
                     "0/60 startup error"], lines


def test_grades_are_written_for_their_owner_only(tmp_path):
    """In the fallback as root a server runs as a uid of its own: reports every user may read (0644 in a 0755
    folder) gave a spying submission its classmates' scores (blind tester 9). The folder harness grade makes
    is 0700, and every report, log, page and the gradebook 0600."""
    import stat as stat_module

    folder = make_submissions(tmp_path, {"a_good": REFERENCE / "tcp_echo.py", "b_none": None})
    completed, _ = grade(tmp_path, str(folder))
    assert completed.returncode == 0, completed.stderr
    out = tmp_path / "grades"
    assert stat_module.S_IMODE(out.stat().st_mode) == 0o700
    written = [p for p in out.iterdir() if p.is_file() and not p.name.startswith(".")]  # not the batch's lock
    assert {p.name for p in written} >= {"gradebook.csv", "a_good.json", "a_good.log", "a_good.html", "b_none.json"}
    for path in written:
        assert stat_module.S_IMODE(path.stat().st_mode) == 0o600, path


def test_a_submission_linking_to_a_classmates_folder_is_not_graded_on_the_classmates_code(tmp_path):
    """Blind 18 A1: with `command = ["src/server.py", …]`, a submission holding only `src -> ../bob/src` scored
    full marks on bob's code (root copied it, even out of a 0700 folder). The start is refused, saying why."""
    submissions = tmp_path / "submissions"
    (submissions / "bob" / "src").mkdir(parents=True)
    (submissions / "bob" / "src" / "server.py").write_bytes((REFERENCE / "tcp_echo.py").read_bytes())
    (submissions / "alice").mkdir()
    (submissions / "alice" / "src").symlink_to(Path("..", "bob", "src"))
    # A link inside the submission is its own business: carol's server.py links to her src/main.py.
    (submissions / "carol" / "src").mkdir(parents=True)
    (submissions / "carol" / "src" / "main.py").write_bytes((REFERENCE / "tcp_echo.py").read_bytes())
    (submissions / "carol" / "src" / "server.py").symlink_to("main.py")
    completed, _ = grade(tmp_path, "--config", "harness.toml", str(submissions),
                         config=CONFIG.replace('["server.py"', '["src/server.py"'))
    book = gradebook(tmp_path / "grades" / "gradebook.csv")
    assert book["bob"]["score"] == "90" and book["carol"]["score"] == "90", completed.stdout + completed.stderr
    assert book["alice"]["score"] == "0" and book["alice"]["status"] == "startup error", book["alice"]
    report = json.loads((tmp_path / "grades" / "alice.json").read_text())
    assert "src is a symbolic link to ../bob/src, outside the submission folder" in json.dumps(report), report


def test_undecodable_names_cost_no_one_a_gradebook_or_a_report(tmp_path):
    """Blind 18 A3/A4: a file name that is not UTF-8 in a submission without server.py, or a submission folder
    so named, crashed `harness grade` while it wrote the gradebook (nobody got one); the name reached it as a
    lone surrogate that the UTF-8 writer refused. Names are shown with the byte escaped."""
    submissions = make_submissions(tmp_path, {"alice": REFERENCE / "tcp_echo.py", "zed": None})
    (submissions / "zed").joinpath(os.fsdecode(b"my\xffserver.py")).write_text("")
    undecodable = submissions / os.fsdecode(b"b\xffob")
    undecodable.mkdir()
    (undecodable / "server.py").write_bytes((REFERENCE / "tcp_echo.py").read_bytes())
    completed, _ = grade(tmp_path, "--config", "harness.toml", str(submissions))
    assert "Traceback" not in completed.stderr, completed.stderr
    book = gradebook(tmp_path / "grades" / "gradebook.csv")
    assert book["alice"]["score"] == "90" and book["zed"]["status"] == "no server", book
    assert "my\\xffserver.py" in book["zed"]["startup_error"], book["zed"]
    assert {name for name in book if name not in ("alice", "zed")} == {"b\\xffob"}, book.keys()
