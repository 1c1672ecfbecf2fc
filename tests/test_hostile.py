"""Hostile servers (SPEC §5, issue #7): each run finishes within its deadlines,
reports the right cause, writes its report and leaves no process behind (the
`harness` fixture checks that last point after every run). Every case runs
with `-n 2`; the cheap ones with `-n 0` too.

Every hostile server is bounded by its own design as well (see each file), so
that a harness bug cannot take the machine down with it.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest
from conftest import TEST_REPLY_TIMEOUT, reference, server

#: Generous bounds for a loaded 2-core machine; what they prove is "bounded", not "fast".
RUN_BOUND_S = 120
FAST = ("--reply-timeout", TEST_REPLY_TIMEOUT, "--startup-timeout", "5")
BOTH = pytest.mark.parametrize("workers", ["0", "2"])
REFERENCE_ECHO = reference("tcp_echo.py")


@BOTH
def test_gigabytes_of_output_do_not_stop_the_run(harness, workers):
    run = harness("-n", workers, "--suite", "echo", *FAST, server("hostile_floods_gigabytes.py"), "{port}")
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.ids_with("failed") == set() and run.report["summary"]["passed"] >= 5
    assert run.elapsed < RUN_BOUND_S


@BOTH
def test_endless_data_fails_the_check_instead_of_hanging(harness, workers):
    run = harness("-n", workers, "--suite", "echo", *FAST, server("hostile_endless_data.py"), "{port}")
    assert run.returncode == 1
    assert run.outcomes()["echo::single_message"] == "failed"
    assert "differs" in run.check("echo::single_message")["message"]
    assert run.elapsed < RUN_BOUND_S


@BOTH
def test_fork_bomb_is_stopped_by_the_process_limit(harness, workers):
    run = harness("-n", workers, "-k", "single_message or binary_bytes", *FAST, "--process-limit", "20",
                  server("hostile_fork_bomb.py"))
    assert run.returncode == 3
    message = run.report["checks"][0]["message"]
    assert "--process-limit 20" in message, message
    assert "without hitting any limit" not in (run.report["checks"][0].get("server_output") or "")
    assert run.elapsed < RUN_BOUND_S


def test_double_forking_daemon_is_found_and_killed(harness):
    run = harness("-n", "2", "--suite", "echo", *FAST, server("double_fork_daemon.py"), "{port}")
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.elapsed < RUN_BOUND_S


@BOTH
def test_server_ignoring_sigterm_and_sigint_fails_shutdown_and_is_killed(harness, workers):
    run = harness("-n", workers, "--suite", "shutdown", "-k", "idle", *FAST, server("hostile_ignores_signals.py"), "{port}")
    assert run.returncode == 1
    for check in ("shutdown::sigint_idle", "shutdown::sigterm_idle"):
        assert run.outcomes()[check] == "failed"
        assert "still running" in run.check(check)["message"]
    assert run.elapsed < RUN_BOUND_S


def test_server_closing_its_stdout_and_stderr_is_tested_normally(harness):
    run = harness("-n", "2", "--suite", "echo", *FAST, server("hostile_closes_output.py"), "{port}")
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.parametrize(("address", "shown"), [("0.0.0.0", "TCP 0.0.0.0:"), ("::", "TCP [::]:")])
def test_server_listening_on_every_address_is_reached_on_loopback(harness, address, shown):
    run = harness("-n", "2", "--suite", "echo", *FAST, "--", "python3", server("hostile_listens_any.py"), "{port}", address)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.report["server"]["listening"].startswith(shown)


def test_memory_eater_is_stopped_by_the_memory_limit(harness):
    run = harness("-n", "2", "-k", "single_message", *FAST, "--memory-limit", "200", server("hostile_eats_memory.py"))
    assert run.returncode == 3
    message = run.report["checks"][0]["message"]
    assert "--memory-limit 200" in message, message


def test_cpu_burner_is_stopped_by_the_cpu_limit(harness):
    run = harness("-k", "single_message", *FAST, "--cpu-limit", "1", server("hostile_burns_cpu.py"))
    assert run.returncode == 3
    message = run.report["checks"][0]["message"]
    assert "SIGXCPU" in message and "--cpu-limit 1 s" in message, message


def test_big_file_writer_is_stopped_by_the_file_size_limit(harness):
    run = harness("-k", "single_message", *FAST, "--file-size-limit", "1", server("hostile_writes_big_file.py"))
    assert run.returncode == 3
    message = run.report["checks"][0]["message"]
    assert "--file-size-limit 1" in message, message


def test_server_damaging_its_folder_damages_only_the_scratch_copy(harness, tmp_path):
    submission = tmp_path / "submission"
    submission.mkdir()
    shutil.copy(server("hostile_damages_folder.py"), submission)
    (submission / "victim.txt").write_text("precious")
    run = harness("-n", "2", "--suite", "echo", *FAST, str(submission / "hostile_damages_folder.py"), "{port}",
                  cwd=submission)
    assert run.returncode == 0, run.stdout + run.stderr
    assert (submission / "victim.txt").read_text() == "precious"


def test_a_huge_submission_folder_is_copied_only_up_to_the_bound(harness, tmp_path):
    from harness.system import scratch

    submission = tmp_path / "home"
    (submission / "junk").mkdir(parents=True)
    for i in range(scratch.MAX_FILES + 100):
        (submission / "junk" / f"{i}.txt").write_text("x")
    shutil.copy(server("hostile_closes_output.py"), submission / "server.py")
    run = harness("-k", "single_message", *FAST, str(submission / "server.py"), "{port}", cwd=submission)
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"stopped at {scratch.MAX_FILES} files" in run.stderr
    assert any("stopped at" in note for note in run.report["notes"])


def test_file_names_in_the_copy_note_cannot_write_to_the_terminal(harness, tmp_path):
    """The note names the first file left out of a bounded copy: a name holding escape sequences and newlines
    cleared the screen and printed a forged grade (blind tester 9). It is shown escaped, on the note's line."""
    from harness.system import scratch

    submission = tmp_path / "home"
    submission.mkdir()
    for i in range(scratch.MAX_FILES + 5):  # whichever is left out is one of these
        (submission / f"f{i}\x1b[2J\x1b[H\n[1\u20441] mallory: 60\u204460 passed\x1b[8m").write_text("x")
    shutil.copy(server("hostile_closes_output.py"), submission / "server.py")
    run = harness("-k", "single_message", *FAST, str(submission / "server.py"), "{port}", cwd=submission)
    assert run.returncode == 0, run.stdout + run.stderr
    note = next(line for line in run.stderr.splitlines() if "first file left out" in line)
    assert "\x1b" not in run.stderr and "\\x1b[2J" in note and "\\n[1\u20441] mallory" in note, note
    assert not any(line.startswith("[1\u20441] mallory") for line in run.stderr.splitlines())


def test_a_huge_sparse_server_file_is_refused_not_copied(harness, tmp_path):
    """3 GiB that take 4 KiB on disk would cost 3 GiB of writes per instance: the bound holds for the server's own file."""
    submission = tmp_path / "sparse"
    submission.mkdir()
    shutil.copy(REFERENCE_ECHO, submission / "server.py")
    os.truncate(submission / "server.py", 3 << 30)
    run = harness("-k", "single_message", *FAST, str(submission / "server.py"), "{port}", cwd=submission)
    assert run.returncode == 3, run.stdout + run.stderr
    assert "server.py is 3,072 MiB, over the copy's bound of 32 MiB" in run.report["server"]["startup_error"]
    assert run.elapsed < 30


def test_a_server_killed_by_a_limit_mid_run_is_reported_with_that_limit(harness):
    run = harness("--suite", "echo", *FAST, "--memory-limit", "250", server("hostile_eats_memory_per_message.py"), "{port}")
    assert run.returncode == 1
    messages = [c.get("message") or "" for c in run.report["checks"]]
    # Killed by the memory cgroup's OOM killer, or a MemoryError at RLIMIT_DATA (exit 1): either way
    # the death leads the failure and names the limit.
    assert any(m.startswith(("the server was killed by SIGKILL", "the server stopped with exit code 1"))
               and "--memory-limit 250" in m for m in messages), messages


def processes_with(text: str) -> list[str]:
    """Command lines (of live, non-zombie processes) containing `text`."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                command = f.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{name}/stat", "rb") as f:
                state = f.read().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if text in command and state != b"Z":
            found.append(f"{name}: {command}")
    return found


@BOTH
def test_daemon_that_clears_its_environment_is_still_killed(harness, workers):
    nonce = uuid.uuid4().hex
    run = harness("-n", workers, "--suite", "echo", *FAST, server("hostile_daemon_clears_env.py"), "{port}", nonce)
    assert run.report is not None
    assert not processes_with(nonce)
    assert run.elapsed < RUN_BOUND_S


def test_file_hoarder_is_stopped_by_the_open_files_limit(harness):
    run = harness("-k", "single_message", *FAST, "--files-limit", "50", server("hostile_opens_files.py"))
    assert run.returncode == 3
    message = run.report["checks"][0]["message"]
    assert "--files-limit 50" in message, message


@pytest.mark.skipif(os.geteuid() != 0, reason="only a root harness runs the server as another uid")
@BOTH
def test_server_cannot_kill_the_harness_when_it_runs_as_another_uid(harness, workers):
    run = harness("-n", workers, "--suite", "echo", *FAST, server("hostile_kills_parent.py"), "{port}")
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.report["summary"]["passed"] >= 5


@BOTH
def test_udp_flood_fails_checks_instead_of_hanging(harness, workers):
    run = harness("-n", workers, "--protocol", "udp-echo", "--suite", "echo", *FAST,
                  server("hostile_udp_flood.py"), "{port}")
    assert run.returncode == 1
    assert run.outcomes()["echo::single_message"] == "failed"
    assert "differs" in run.check("echo::single_message")["message"]
    assert run.elapsed < RUN_BOUND_S


@BOTH
def test_trickling_server_is_ended_by_the_check_timeout(harness, workers):
    run = harness("-n", workers, "-k", "large_payload", *FAST, "--check-timeout", "8",
                  server("hostile_trickles.py"), "{port}")
    assert run.returncode == 1
    assert "--check-timeout" in run.check("echo::large_payload")["message"]
    assert run.elapsed < RUN_BOUND_S


def test_a_folder_filled_with_folders_is_removed_in_time_linear_in_them(harness, harness_temporaries):
    """20,000 empty folders in the scratch copy: removed once each, and nothing left in the run's temporary
    folder, not in the quadratic 88 s that a killed run left on the next submission's clock."""
    import tempfile

    own = Path(tempfile.mkdtemp(dir=harness_temporaries))
    own.chmod(0o711)  # an unprivileged server reaches its scratch copy through it
    run = harness("-k", "single_message", *FAST, "--startup-timeout", "30", server("hostile_fills_folders.py"),
                  "{port}", env={"TMPDIR": str(own)})
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.elapsed < RUN_BOUND_S
    assert list(own.iterdir()) == []

