"""What a hostile server cannot do (SPEC §5, issue #12 attacks 2, 3, 4, 7, 8,
10, 11), in each mode this machine offers: sandboxed (bubblewrap) and the
fallback (`--no-bwrap`), both as root here. A normal user's modes are in
test_integrity_as_user.py (the harness run as `nobody`).

Each test asserts the victim unchanged, the secret unread, the folder gone.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from conftest import FALLBACK, REFERENCE, TEST_REPLY_TIMEOUT, server
from conftest import ROOT as REPOSITORY
from test_hostile import processes_with

from harness.system import bwrap, cpucg, memcg
from harness.system.sandbox import reachable_by_others

SANDBOX_MISSING = "HARNESS_TEST_NO_BWRAP asks for the fallback" if FALLBACK else bwrap.unavailable_reason()
MODES = pytest.mark.parametrize("mode", [
    pytest.param("sandboxed", marks=pytest.mark.skipif(SANDBOX_MISSING is not None, reason=f"{SANDBOX_MISSING}")),
    "fallback",
])
ROOT = pytest.mark.skipif(os.geteuid() != 0, reason="the attack needs a root harness to mean anything")
MEMCG_MISSING = memcg.unavailable_reason()
NEEDS_MEMCG = pytest.mark.skipif(MEMCG_MISSING is not None, reason=f"no memory cgroup here: {MEMCG_MISSING}")
FAST = ("--reply-timeout", TEST_REPLY_TIMEOUT, "--startup-timeout", "10")


def flags(mode: str) -> tuple[str, ...]:
    return ("--no-bwrap",) if mode == "fallback" else ()


def line_after(run, prefix: str) -> dict:
    output = (run.report["checks"][0].get("server_output") or "") if run.report["checks"] else ""
    output += "\n" + (run.report["server"].get("startup_error") or "")
    line = next(line for line in output.splitlines() if line.startswith(prefix))
    return json.loads(line[len(prefix):])


@MODES
def test_control_sequences_from_the_server_never_reach_the_terminal(harness, mode):
    run = harness(*flags(mode), "-k", "single_message", *FAST, server("hostile_ansi_output.py"))
    assert run.returncode == 3
    shown = run.stdout + run.stderr
    assert "\x1b" not in shown and "\r" not in shown and "\x07" not in shown and "\u202e" not in shown
    assert "\\x1b[2K" in run.stdout and "\\x1b]0;all checks passed\\x07" in run.stdout  # shown, made visible
    assert "\x1b[2K" in (run.report["checks"][0].get("server_output") or "")  # the report keeps the real text


def test_a_lone_surrogate_from_the_server_costs_no_report(harness, tmp_path):
    """Blind 18 A4: a tcp-file header with the JSON escape "\\ud800" was quoted in a failure; the terminal line
    and the report could not encode it: INTERNALERROR, exit 1, no report (graded as "harness error")."""
    html, junit = tmp_path / "r.html", tmp_path / "r.xml"
    run = harness("--protocol", "tcp-file", "--check", "conversation::text_file", "--html", str(html),
                  "--junit-xml", str(junit), *FAST, server("hostile_file_surrogate_header.py"), "{port}")
    assert run.returncode == 1 and "INTERNALERROR" not in run.stdout + run.stderr, run.stdout + run.stderr
    assert run.outcomes() == {"conversation::text_file": "failed"}
    assert '"note": "\\ud800"' in run.stdout, run.stdout  # shown escaped
    assert html.stat().st_size > 0 and junit.stat().st_size > 0


@ROOT
@MODES
def test_links_in_a_tcp_file_submission_do_not_expose_or_change_other_files(harness, mode, tmp_path):
    victim = tmp_path / "root-only.txt"
    victim.write_text("ROOT-ONLY-CONTENT\n")
    victim.chmod(0o600)
    other = tmp_path / "other-student.py"
    other.write_text("print('other work')\n")
    folder = tmp_path / "submission"
    folder.mkdir()
    shutil.copy(REFERENCE / "tcp_file.py", folder / "server.py")
    (folder / "hello.txt").symlink_to(victim)
    (folder / "data.bin").symlink_to(other)
    (folder / "served").symlink_to(tmp_path)
    run = harness(*flags(mode), "--protocol", "tcp-file", "-k", "text_file or binary_file", *FAST,
                  str(folder / "server.py"), "{port}")
    assert run.returncode == 0, run.stdout
    assert victim.read_text() == "ROOT-ONLY-CONTENT\n" and (victim.stat().st_mode & 0o777) == 0o600
    assert other.read_text() == "print('other work')\n"
    assert (folder / "hello.txt").is_symlink()  # the original is untouched too


@ROOT
@MODES
def test_a_setuid_program_in_a_submission_loses_its_bits_in_the_copy(harness, mode, tmp_path):
    folder = tmp_path / "submission"
    folder.mkdir()
    shutil.copy(server("hostile_setuid_copy.py"), folder / "server.py")
    shutil.copy(shutil.which("id") or "/usr/bin/id", folder / "suid_id")
    (folder / "suid_id").chmod(0o6755)
    run = harness(*flags(mode), "-k", "single_message", *FAST, str(folder / "server.py"))
    seen = line_after(run, "SUID ")
    assert seen["bits"] == 0
    assert seen["euid"] != "0" and seen["uid"] != 0
    assert (folder / "suid_id").stat().st_mode & 0o6000 == 0o6000  # the original keeps its bits


@MODES
def test_a_folder_thousands_deep_is_cleaned_up_without_recursion_error(harness, mode, tmp_path):
    temporary = tmp_path / "tmpdir"
    temporary.mkdir()
    run = harness(*flags(mode), "-k", "single_message", *FAST, server("hostile_deep_folder.py"),
                  env={"TMPDIR": str(temporary)})
    assert run.returncode == 3, run.stdout + run.stderr
    assert "RecursionError" not in run.stdout + run.stderr and "INTERNALERROR" not in run.stdout + run.stderr
    assert "deep folder made" in (run.report["checks"][0].get("server_output") or "")
    assert list(temporary.iterdir()) == []


@ROOT
@MODES
def test_temporaries_vanish_with_the_server_and_tmpfs_counts_as_memory(harness, mode):
    token = uuid.uuid4().hex
    run = harness(*flags(mode), "-k", "single_message", *FAST, "--memory-limit", "100",
                  server("hostile_plants_tmp_files.py"), "{port}", token)
    for folder in ("/tmp", "/var/tmp", "/dev/shm"):
        left = [name for name in os.listdir(folder) if token in name]
        assert not left, f"left in {folder}: {left}"
    if MEMCG_MISSING is None:  # its memory cgroup counts the files: killed at the limit, or refused space
        assert "HELD 128 MiB" not in run.stdout
        assert run.returncode == 0 or "killed at the memory limit (--memory-limit 100 MiB" in run.stdout, run.stdout
    elif mode == "sandboxed":  # its private /dev/shm is as big as the memory limit: 128 MiB never fit
        assert run.returncode == 0, run.stdout
    else:  # the fallback cannot count tmpfs files as memory (README: containment "partly")
        assert run.returncode == 3 and "HELD 128 MiB" in run.stdout


@pytest.mark.skipif(SANDBOX_MISSING is not None, reason=f"{SANDBOX_MISSING}")
def test_a_sandboxed_server_reads_nothing_of_others(harness, tmp_path):
    other = tmp_path / "other" / "server.py"
    other.parent.mkdir()
    other.write_text("OTHER-STUDENT-WORK\n")
    other.chmod(0o644)
    assignment = tmp_path / "harness.toml"
    assignment.write_text('protocol = "tcp-echo"\n# ASSIGNMENT\n')
    run = harness("-k", "single_message", *FAST, "--config", str(assignment), server("hostile_reads_others.py"),
                  str(other), str(assignment), "/etc/shadow", cwd=tmp_path)
    got = line_after(run, "GOT ")
    assert "OTHER-STUDENT-WORK" not in json.dumps(got) and "ASSIGNMENT" not in json.dumps(got)
    assert got["/etc/shadow"].startswith("DENIED")
    assert got["parent_mentions"] in ([], "DENIED Permission denied"), got["parent_mentions"]
    # /tmp is its own: only the mount points of what it is shown (its own instance folder, the interpreter).
    assert not any(name.startswith("pytest-") for name in got["tmp"]), got["tmp"]
    assert len([name for name in got["tmp"] if name.startswith("harness-run-")]) <= 1, got["tmp"]


@ROOT
@pytest.mark.skipif(not reachable_by_others(sys.executable),
                    reason="this Python is out of other users' reach: the fallback keeps CAP_DAC_READ_SEARCH for it")
def test_a_fallback_server_cannot_read_root_only_files(harness, tmp_path):
    secret = tmp_path / "root-only"
    secret.write_text("ROOT-ONLY\n")
    secret.chmod(0o600)
    shadow = Path("/etc/shadow")
    run = harness("--no-bwrap", "-k", "single_message", *FAST, server("hostile_reads_others.py"), str(secret),
                  *([str(shadow)] if shadow.exists() else []))
    got = line_after(run, "GOT ")
    assert got[str(secret)].startswith("DENIED")
    assert all(value.startswith("DENIED") for key, value in got.items() if key.startswith("/"))


@MODES
def test_a_fifo_in_the_servers_current_folder_is_never_read(harness, mode, tmp_path):
    folder = tmp_path / "submission"
    folder.mkdir()
    shutil.copy(server("hostile_fifo_secret.py"), folder / "server.py")
    shutil.copy(REFERENCE / "tcp_file.py", folder / "ref_tcp_file.py")
    run = harness(*flags(mode), "--protocol", "tcp-file", "-k", "path_traversal", *FAST,
                  str(folder / "server.py"), "{port}")
    assert run.returncode == 0, run.stdout  # the real secret, from the harness's own folder, stays unserved
    assert run.outcomes() == {"conversation::path_traversal": "passed"}


@pytest.mark.skipif(SANDBOX_MISSING is not None, reason=f"{SANDBOX_MISSING}")
def test_a_daemon_that_cleared_its_environment_dies_with_a_sigkilled_harness(tmp_path):
    """The fallback finds such a daemon by uid during cleanup, which SIGKILL skips (README: containment partly);
    the sandbox's PID namespace ends with bwrap, which the kernel ends with the harness."""
    nonce = uuid.uuid4().hex
    process = subprocess.Popen([sys.executable, "-m", "harness", "run", "--suite", "shutdown", *FAST,
                                server("hostile_daemon_clears_env.py"), "{port}", nonce], cwd=tmp_path,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                               start_new_session=True)
    deadline = time.monotonic() + 30
    while not [p for p in processes_with(nonce) if " daemon" in p] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [p for p in processes_with(nonce) if " daemon" in p], "the daemon never started"
    process.kill()
    process.wait()
    deadline = time.monotonic() + 10
    while processes_with(nonce) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = processes_with(nonce)
    for line in left:  # so a failing assertion leaks nothing
        os.kill(int(line.partition(":")[0]), 9)
    assert not left, left


@pytest.mark.skipif(bool(FALLBACK), reason="HARNESS_TEST_NO_BWRAP passes --no-bwrap to every run: the fallback is asked for, not noted")
def test_without_bubblewrap_the_run_says_so_in_one_line_and_works(harness):
    run = harness("--suite", "echo", *FAST, str(REFERENCE / "tcp_echo.py"), "{port}",
                  env={"HARNESS_BWRAP": "/nonexistent/bwrap"})
    assert run.returncode == 0, run.stdout + run.stderr
    notes = [line for line in run.stderr.splitlines() if "no sandbox" in line]
    assert len(notes) == 1 and "bwrap (bubblewrap) is not installed" in notes[0] and "harness doctor" in notes[0]


@MODES
def test_a_correct_server_may_use_the_temporary_folders(harness, mode):
    """Private temporaries are still temporaries: /tmp, /var/tmp and /dev/shm are
    writable (sticky, 1777) inside the sandbox, as on any system."""
    run = harness(*flags(mode), "--suite", "echo", *FAST, server("echo_uses_temporaries.py"), "{port}")
    assert run.returncode == 0, run.stdout + run.stderr
    assert set(run.outcomes().values()) == {"passed"}


def memory_cgroups_of(run) -> set[str]:
    """The memory cgroups (harness.system.memcg) of `run`'s harness process that still exist: other
    runs of the suite make and remove their own at the same time, named by their own pid."""
    folder = memcg.own_memory_folder()
    mine = f"{memcg.PREFIX}{run.pid}-"
    return {name for name in os.listdir(folder[0]) if name.startswith(mine)} if folder else set()


@NEEDS_MEMCG
@MODES
def test_memory_in_memfd_counts_against_the_memory_limit(harness, mode):
    """Attack 7: memfd written, never mapped, is counted by no per-process limit;
    the instance's memory cgroup counts it: the server holds at most the limit."""
    run = harness(*flags(mode), "-k", "single_message", *FAST, "--memory-limit", "256",
                  server("hostile_fills_memfd.py"), "{port}")
    held = [int(mib) for mib in re.findall(r"MEMFD HELD (\d+) MiB", run.stdout)]
    assert held and max(held) <= 256, run.stdout
    assert run.returncode == 0 or "killed at the memory limit (--memory-limit 256 MiB" in run.stdout, run.stdout
    assert run.pid and not memory_cgroups_of(run)


@NEEDS_MEMCG
@MODES
def test_a_correct_server_passes_everything_in_its_memory_cgroup(harness, mode):
    run = harness(*flags(mode), *FAST, str(REFERENCE / "tcp_echo.py"), "{port}")
    assert run.returncode == 0, run.stdout + run.stderr
    assert set(run.outcomes().values()) == {"passed"}
    assert run.pid and not memory_cgroups_of(run)


@MODES
def test_a_worker_hidden_from_the_tree_still_counts_for_the_idle_and_shutdown_checks(harness, mode):
    """Double fork, setsid and an empty environment before the first scan: in neither the
    parent chain, the session nor the token's holders, yet in the instance's PID namespace
    (sandboxed) or running as its uid (fallback as root)."""
    if mode == "fallback" and os.geteuid() != 0:
        pytest.skip("only a root fallback gives the server a uid of its own")
    run = harness(*flags(mode), "--check", "concurrency::idle_without_busy_loop", "--check", "shutdown::sigterm_idle",
                  *FAST, server("hostile_detached_spinner.py"), "{port}")
    assert run.outcomes() == {"concurrency::idle_without_busy_loop": "failed", "shutdown::sigterm_idle": "failed"}, \
        run.stdout
    assert "CPU seconds" in run.check("concurrency::idle_without_busy_loop")["message"]
    message = run.check("shutdown::sigterm_idle")["message"]
    assert "1 process it started still ran" in message and "hostile_detached_spinner.py 0 worker" in message, message


@ROOT
@MODES
def test_shared_memory_and_lock_files_of_a_server_do_not_outlive_it(harness, mode):
    """A keyed System V segment would count the run's instances (which check is this?) and keep
    memory outside every limit; a file in /run/lock (mode 1777) would outlive the run."""
    nonce = uuid.uuid4().hex
    run = harness(*flags(mode), "--suite", "shutdown", "-k", "idle", *FAST,
                  server("hostile_leaves_ipc.py"), "{port}", nonce)
    assert run.returncode == 0, run.stdout + run.stderr  # a later instance would exit: "instance 2"
    assert run.report["summary"]["passed"] == len(run.report["checks"]) == 2
    key = f"{int(nonce[:7], 16):d}"
    segments = Path("/proc/sysvipc/shm").read_text().splitlines()[1:]
    assert not [row for row in segments if row.split()[0] == key], segments
    assert not [name for name in os.listdir("/run/lock") if name.startswith(nonce)] if os.path.isdir("/run/lock") else True


@MODES
def test_a_server_starts_with_sigpipe_and_sigxfsz_at_their_default(harness, mode):
    """Python ignores SIGPIPE and SIGXFSZ, and exec keeps an ignored signal ignored: a C server started
    by a Python parent would survive the write to a reset connection that kills it everywhere else."""
    run = harness(*flags(mode), "-k", "single_message", *FAST, server("reports_ignored_signals.sh"))
    assert run.returncode == 3, run.stdout
    output = (run.report["checks"][0].get("server_output") or "") + (run.report["server"]["startup_error"] or "")
    shown = re.search(r"SigIgn:\s*([0-9a-f]+)", output)
    assert shown, run.report
    ignored = int(shown.group(1), 16)
    assert not ignored & (1 << (signal.SIGPIPE - 1)) and not ignored & (1 << (signal.SIGXFSZ - 1)), hex(ignored)


@MODES
def test_a_students_own_socket_py_does_not_break_their_server(harness, mode, tmp_path):
    """SPEC §5.1: a tutorial's `socket.py` beside the server (here one that ends whoever imports it) must not
    break the grading of the student's own server; the student's other modules still import, and wrong-doing
    reads as under `python server.py` (no frames of the harness's launch in its traceback)."""
    tmp_path = tmp_path / "submission"  # (the harness runs from the test's own folder, as a student's shell would)
    tmp_path.mkdir()
    (tmp_path / "socket.py").write_text("raise SystemExit('the student\\'s socket.py was imported')\n")
    (tmp_path / "helpers.py").write_text("def serve(conn):\n    with conn:\n        while data := conn.recv(65536):\n"
                                         "            conn.sendall(data)\n")
    (tmp_path / "server.py").write_text(
        "import socket, sys, threading\nfrom helpers import serve\nassert __name__ == '__main__'\n"
        "assert sys.argv[1:] and sys.argv[0].endswith('server.py'), sys.argv\n"
        "s = socket.socket()\ns.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        "s.bind(('127.0.0.1', int(sys.argv[1])))\ns.listen(50)\nwhile True:\n"
        "    conn, _ = s.accept()\n    threading.Thread(target=serve, args=(conn,), daemon=True).start()\n")
    run = harness(*flags(mode), "--suite", "echo", *FAST, str(tmp_path / "server.py"), "{port}")
    assert run.returncode == 0, run.stdout + run.stderr
    (tmp_path / "server.py").write_text("import sys\nprint(sys.argv[2])\n")  # an IndexError at start
    crash = harness(*flags(mode), "--suite", "echo", *FAST, str(tmp_path / "server.py"), "{port}")
    error = crash.report["server"]["startup_error"]
    assert crash.returncode == 3 and "IndexError" in crash.stdout, crash.stdout
    assert "runpy" not in crash.stdout and "<string>" not in crash.stdout and "runpy" not in error, crash.stdout


def test_workers_started_from_a_submissions_folder_never_import_its_harness_package(tmp_path):
    """SPEC §5: `harness run -n 2` from a submission's folder (how an instructor looks at one submission) starts
    pytest-xdist workers with `python -m`/`-c`, which put the current folder first on `sys.path`: the
    submission's own `harness/` package ran there, as root and outside the sandbox (blind 14, finding 1)."""
    folder = tmp_path / "alice"
    (folder / "harness").mkdir(parents=True)
    marker = tmp_path / "imported"
    (folder / "harness" / "__init__.py").write_text(f"open({str(marker)!r}, 'w').write('the submission ran')\n")
    shutil.copy(REFERENCE / "tcp_echo.py", folder / "server.py")
    console_script = Path(sys.executable).with_name("harness")
    run = subprocess.run([str(console_script), "run", *FALLBACK, "-n", "2", "--suite", "echo", *FAST,
                          "server.py", "{port}"], cwd=folder, capture_output=True, text=True, timeout=120,
                         stdin=subprocess.DEVNULL)
    assert not marker.exists(), marker.read_text()
    assert run.returncode == 0, run.stdout + run.stderr


@ROOT
@MODES
def test_a_servers_output_and_its_tcp_file_copy_are_closed_to_other_servers(harness, mode):
    """SPEC §5, guarantee 2 (blind 14): in the fallback every server sees the others' folders in /proc, and read a
    classmate's captured output (0644 files) and, under tcp-file, their source (the served copy was opened 0755).
    (A fallback server whose Python is out of other users' reach keeps CAP_DAC_READ_SEARCH and reads past any
    mode, as the README's table says: there only the modes themselves are checked.)"""
    run = harness(*flags(mode), "--protocol", "tcp-file", "-k", "text_file", *FAST,
                  server("hostile_peeks_at_captures.py"))
    got = line_after(run, "GOT ")
    assert int(got["copy_mode"], 8) & 0o077 == 0, got
    if mode == "sandboxed" or reachable_by_others(sys.executable):
        assert not any(value.startswith("READ") for value in got.values()), got


CPUCG_MISSING = cpucg.unavailable_reason()


@pytest.mark.skipif(CPUCG_MISSING is not None, reason=f"no cpu cgroup here: {CPUCG_MISSING}")
@MODES
def test_a_server_and_all_it_forks_weigh_one_cpu_share(harness, mode):
    """Blind 14: 120 spinners forked in sessions of their own weighed 120 jobs, and a classmate's server graded
    beside them did not start in time. Each instance runs in a cpu cgroup of its own (v1), or in its memory
    cgroup where that has the cpu controller (v2); it is gone with the instance."""
    run = harness(*flags(mode), "-k", "single_message", *FAST, server("hostile_reports_cgroups.py"))
    groups = line_after(run, "CGROUPS ")
    if mode == "fallback" and not cpucg.memory_cgroup_shares_cpu():  # (the sandbox's cgroup namespace hides paths)
        cpu = next(path for controllers, path in groups.items() if "cpu" in controllers.split(","))
        assert f"/{memcg.PREFIX}{run.pid}-" in cpu, groups
    folder = memcg.own_folder("cpu")
    if folder is not None and folder[1] == 1:
        assert not [name for name in os.listdir(folder[0]) if name.startswith(f"{memcg.PREFIX}{run.pid}-")]


@MODES
@pytest.mark.parametrize("spinner", ["hostile_relay_spinner.py", "hostile_flicker_spinner.py"])
def test_a_busy_loop_in_processes_that_replace_each_other_still_counts_for_the_idle_check(harness, mode, spinner):
    """Blind 16, S3: the spinner forks its successor and exits every 0.25 s; the pids listed before the
    idle window never held it. The tree is found again at every look. Blind 18, A2: children that spin 4 ms
    each and are reaped are never seen alive; their parent's reaped-children CPU time counts them."""
    if mode == "fallback" and os.geteuid() != 0:
        pytest.skip("only a root fallback gives the server a uid of its own")
    run = harness(*flags(mode), "--check", "concurrency::idle_without_busy_loop", *FAST,
                  server(spinner), "{port}")
    assert run.outcomes() == {"concurrency::idle_without_busy_loop": "failed"}, run.stdout
    assert "CPU seconds" in run.check("concurrency::idle_without_busy_loop")["message"]


@MODES
def test_connections_parked_in_flight_over_a_unix_socket_still_count_as_a_leak(harness, mode):
    """Blind 16, S4: each finished connection's descriptor is sent over a UNIX socket pair that is never
    read, and closed: in no descriptor table, yet open (CLOSE_WAIT on the server's port)."""
    run = harness(*flags(mode), "--check", "concurrency::no_descriptor_leak", *FAST,
                  server("hostile_parks_connections.py"), "{port}")
    assert run.outcomes() == {"concurrency::no_descriptor_leak": "failed"}, run.stdout
    assert "(CLOSE_WAIT)" in run.check("concurrency::no_descriptor_leak")["message"]
    # Blind 16's own variant shuts each connection down first: no CLOSE_WAIT socket shows it, but the private
    # network namespace's count of sockets no process holds does.
    if not FALLBACK:
        shut = harness(*flags(mode), "--check", "concurrency::no_descriptor_leak", *FAST,
                       server("hostile_parks_connections.py"), "{port}", "shutdown")
        assert shut.outcomes() == {"concurrency::no_descriptor_leak": "failed"}, shut.stdout
    reference = harness(*flags(mode), "--check", "concurrency::no_descriptor_leak", *FAST,
                        str(REFERENCE / "tcp_echo.py"), "{port}")
    assert reference.outcomes() == {"concurrency::no_descriptor_leak": "passed"}, reference.stdout


@pytest.mark.skipif(bool(FALLBACK), reason="the fallback shares the machine's network: other listeners are there")
def test_the_reference_server_is_gone_before_the_server_under_test_starts(harness):
    """Blind 16, S1: the @reference answers were recorded while the student's server ran in the same network,
    which found the reference's port and asked it for the answer it never implemented (73 -> 100 points).
    They are recorded first, and the reference stopped, before any server under test starts."""
    kv = REPOSITORY / "examples" / "protocols" / "kv" / "kv.toml"
    run = harness("--protocol", str(kv), "-k", "unknown_key or set_then_get", *FAST,
                  server("hostile_watches_for_the_reference.py"), "{port}")
    assert "ANOTHER LISTENER" not in run.stdout, run.stdout
    assert run.check("conversation::set_then_get")["outcome"] == "passed", run.stdout
    assert run.check("conversation::unknown_key")["outcome"] == "failed", run.stdout  # it has no HELP


@MODES
def test_a_survivor_that_forks_its_successor_and_exits_at_once_still_fails_the_shutdown_checks(harness, mode):
    """Blind 18, A5: after the signal a chain of processes, each forking the next and exiting at once, lived
    on; one scan of /proc that found none of them was enough to pass. The sandbox's init (it runs while any
    process of its namespace does) and the instance's cgroups (the kernel's list) decide now."""
    if mode == "fallback" and os.geteuid() != 0:
        pytest.skip("only a root fallback gives the server cgroups of its own")
    run = harness(*flags(mode), "--check", "shutdown::sigterm_idle", *FAST, server("hostile_flicker_survivor.py"),
                  "{port}")
    assert run.outcomes() == {"shutdown::sigterm_idle": "failed"}, run.stdout
    assert "still ran" in run.check("shutdown::sigterm_idle")["message"]
