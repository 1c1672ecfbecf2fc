"""Every shutdown check proven both ways: the reference servers pass all of
them, and each buggy server fails exactly the checks aimed at its bug. The
`harness` fixture also proves that no server process (orphaned children
included) survives any of these runs."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys

import pytest
from conftest import TEST_REPLY_TIMEOUT, reference, server

from harness.checks import load_catalogue
from harness.protocols import PROTOCOLS
from harness.system.sandbox import reachable_by_others

CHECKS = {
    "shutdown::sigint_idle", "shutdown::sigterm_idle", "shutdown::sigint_with_clients",
    "shutdown::sigterm_with_clients", "shutdown::port_reusable", "shutdown::runs_until_stopped",
    "shutdown::no_traceback",
}
SIGNAL_CHECKS = {
    "shutdown::sigint_idle", "shutdown::sigterm_idle", "shutdown::sigint_with_clients", "shutdown::sigterm_with_clients",
}
#: Short, for the buggy servers' expected failures only (a hang costs this much).
BUGGY_SHUTDOWN_TIMEOUT = "1.5"


@pytest.mark.parametrize("protocol, path", [
    ("tcp-echo", reference("tcp_echo.py")),
    ("udp-echo", reference("udp_echo.py")),
    ("tcp-framed", reference("tcp_framed.py")),
    ("tcp-hello", reference("tcp_hello.py")),
    ("udp-hello", reference("udp_hello.py")),
    ("tcp-file", reference("tcp_file.py")),
])
def test_reference_server_passes_every_shutdown_check(harness, protocol, path):
    run = harness("--protocol", protocol, "--suite", "shutdown", path, "{port}")
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.outcomes() == {check: "passed" for check in CHECKS}, run.stdout


def test_every_protocol_has_every_shutdown_check():
    catalogue = load_catalogue()
    for check_id in CHECKS:
        assert set(catalogue[check_id].protocols) >= set(PROTOCOLS), check_id


BUGGY = [
    # (server file, protocol, checks it must fail, checks that must be warnings)
    ("shut_nondaemon_threads.py", "tcp-echo", {"shutdown::sigint_with_clients"}, set()),
    ("shut_ignores_sigterm.py", "tcp-echo", {"shutdown::sigterm_idle", "shutdown::sigterm_with_clients"}, set()),
    # Both signals reach the children (they are in the group), but these ignore SIGTERM.
    ("shut_fork_orphans.py", "tcp-echo", {"shutdown::sigterm_with_clients"}, set()),
    # Children that left the group (setsid) get neither signal.
    ("shut_setsid_child.py", "tcp-echo", {"shutdown::sigint_with_clients", "shutdown::sigterm_with_clients"}, set()),
    ("shut_no_reuseaddr.py", "tcp-echo", {"shutdown::port_reusable"}, set()),
    # A helper that double-forked away (re-parented, another session) outlives every signal.
    ("shut_double_fork_helper.py", "tcp-echo", SIGNAL_CHECKS, set()),
    ("tcp_single_client.py", "tcp-echo", {"shutdown::runs_until_stopped"}, {"shutdown::no_traceback"}),
    ("shut_udp_ignores_sigterm.py", "udp-echo", {"shutdown::sigterm_idle", "shutdown::sigterm_with_clients"}, set()),
    ("shut_udp_one_datagram.py", "udp-echo", {"shutdown::runs_until_stopped"}, set()),
    # No second client: no_traceback cannot hold one, and is not judged (skipped), not a warning.
    ("shut_one_client_closes_listener.py", "tcp-echo",
     {"shutdown::sigint_with_clients", "shutdown::sigterm_with_clients", "shutdown::port_reusable",
      "shutdown::runs_until_stopped"}, set()),
]


def run_buggy(harness, name: str, protocol: str = "tcp-echo", *extra: str):
    return harness("--protocol", protocol, "--suite", "shutdown", "--reply-timeout", TEST_REPLY_TIMEOUT,
                   "--shutdown-timeout", BUGGY_SHUTDOWN_TIMEOUT, *extra, server(name), "{port}")


@pytest.mark.parametrize("name, protocol, failing, warning", BUGGY, ids=[b[0] for b in BUGGY])
def test_buggy_server_fails_exactly_its_checks(harness, name, protocol, failing, warning):
    run = run_buggy(harness, name, protocol)
    assert run.ids_with("failed") == failing, run.stdout
    assert run.ids_with("warning") == warning, run.stdout
    assert run.ids_with("error") == set(), run.stdout
    assert run.returncode == 1, run.stdout + run.stderr
    for check_id in failing | warning:
        assert run.check(check_id)["message"], f"{check_id} failed without an explanation"


def test_hang_report_names_the_signal_the_wait_and_the_process(harness):
    run = run_buggy(harness, "shut_nondaemon_threads.py", "tcp-echo", "-k", "sigint_with_clients")
    failure = run.check("shutdown::sigint_with_clients")
    assert "SIGINT sent to the server's process group, as Ctrl+C does, with 3 clients mid-conversation" \
        in failure["message"]
    assert "still running 1.5 s after SIGINT (--shutdown-timeout)" in failure["message"]
    assert "shut_nondaemon_threads.py" in failure["message"]  # its command line
    assert "daemon=True" in failure["detail"]


def test_ignored_signal_is_named(harness):
    run = run_buggy(harness, "shut_ignores_sigterm.py", "tcp-echo", "-k", "sigterm_idle")
    assert "it ignores SIGTERM (its handler is SIG_IGN)" in run.check("shutdown::sigterm_idle")["message"]


def test_servers_are_not_deaf_to_ctrl_c_when_the_harness_runs_in_the_background(harness):
    # A shell without job control starts background jobs with SIGINT ignored,
    # and an ignored signal survives exec: the harness must not pass that on.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        run = harness("--suite", "shutdown", "-k", "sigint", reference("tcp_echo.py"), "{port}")
    finally:
        signal.signal(signal.SIGINT, previous)
    assert run.outcomes() == {"shutdown::sigint_idle": "passed", "shutdown::sigint_with_clients": "passed"}, run.stdout


def test_orphaned_children_are_listed_with_their_command_lines(harness):
    run = run_buggy(harness, "shut_fork_orphans.py", "tcp-echo", "-k", "sigterm_with_clients")
    message = run.check("shutdown::sigterm_with_clients")["message"]
    assert "exited (exit code 0)" in message and "after SIGTERM" in message
    # Client 0 is surely being served by a child; the others may not have been accepted yet.
    assert re.search(r"but [123] process(es)? it started still ran 1.5 s after the signal", message), message
    assert 1 <= message.count("shut_fork_orphans.py") <= 3
    assert "SIGTERM sent to the server's process group, as a service manager stops a service" in message
    detail = run.check("shutdown::sigterm_with_clients")["detail"]
    assert "ignored it, caught it and carried on, or left the group" in detail and "os.kill" in detail


def test_restart_failure_shows_address_already_in_use(harness):
    run = run_buggy(harness, "shut_no_reuseaddr.py", "tcp-echo", "-k", "port_reusable")
    failure = run.check("shutdown::port_reusable")
    assert "bind() failed with 'Address already in use'" in failure["message"]
    assert "its old connections were still in the kernel as" in failure["message"]
    assert failure["detail"].lower().count("set so_reuseaddr") == 1, failure["detail"]  # once, not again as start-up advice
    assert "OSError: [Errno 98] Address already in use" in failure["detail"]  # the new instance's own stderr


def test_shutdown_traceback_is_a_warning_that_shows_the_traceback(harness):
    # A double-forking daemon: signalled at its daemon process, it passes
    # everything but prints a KeyboardInterrupt traceback.
    run = harness("--suite", "shutdown", server("double_fork_daemon.py"), "{port}")
    assert run.returncode == 0, run.stdout
    assert run.ids_with("warning") == {"shutdown::no_traceback"}
    assert run.ids_with("passed") == CHECKS - {"shutdown::no_traceback"}
    detail = run.check("shutdown::no_traceback")["detail"]
    assert detail.startswith("Traceback (most recent call last)") and "KeyboardInterrupt" in detail


def test_a_whole_traceback_is_the_verdict_without_waiting_for_a_server_that_does_not_exit(harness):
    # The seed prints KeyboardInterrupt's traceback, then its non-daemon client threads keep it alive.
    run = harness("--protocol", "tcp-hello", "--hello-mode", "unframed", "--suite", "shutdown", "-k", "no_traceback",
                  "--shutdown-timeout", "10", server("seed_001_tcp_hello.py"), "{port}")
    assert run.outcomes() == {"shutdown::no_traceback": "warning"}, run.stdout
    check = run.check("shutdown::no_traceback")
    assert "KeyboardInterrupt" in check["detail"]  # the whole traceback, not its first line
    assert check["duration_s"] < 8, check  # its 2 s reply, not the 10 s shutdown timeout


def test_without_a_traceback_a_server_that_does_not_exit_is_waited_for_in_full(harness):
    # Catches KeyboardInterrupt quietly, then hangs on its non-daemon thread: no verdict before the timeout.
    run = run_buggy(harness, "shut_nondaemon_threads.py", "tcp-echo", "-k", "no_traceback")
    assert run.outcomes() == {"shutdown::no_traceback": "passed"}, run.stdout
    assert run.check("shutdown::no_traceback")["duration_s"] >= float(BUGGY_SHUTDOWN_TIMEOUT)


def test_a_server_learnt_to_answer_only_at_eof_gets_the_same_shutdown_verdicts(harness):
    # tcp_wait_eof echoes only at EOF; the reset check learns it (harness.clients.patience), and then the
    # shutdown clients no longer wait for its answer: the verdicts are those of a full run.
    run = harness("--check", "echo::single_message", "--check", "concurrency::survives_abrupt_disconnect",
                  "--check", "shutdown::*", "--reply-timeout", TEST_REPLY_TIMEOUT, server("tcp_wait_eof.py"), "{port}")
    assert run.ids_with("failed") == {"echo::single_message"}, run.stdout
    assert run.ids_with("warning") == {"shutdown::no_traceback"}, run.stdout
    assert run.check("concurrency::survives_abrupt_disconnect")["outcome"] == "passed"
    assert run.ids_with("passed") >= CHECKS - {"shutdown::no_traceback"}, run.stdout


def test_strict_turns_the_traceback_warning_into_a_failure(harness):
    run = harness("--strict", "--suite", "shutdown", "-k", "no_traceback", server("double_fork_daemon.py"), "{port}")
    assert run.outcomes() == {"shutdown::no_traceback": "failed"}
    assert run.returncode == 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_fixed_port_server_restarts_on_its_own_port(harness):
    port = free_port()
    run = harness("--port", str(port), "--suite", "shutdown", "-k", "port_reusable", reference("tcp_echo.py"), str(port))
    assert run.outcomes() == {"shutdown::port_reusable": "passed"}, run.stdout


def test_fixed_port_without_reuseaddr_fails_only_the_restart_check(harness):
    # Every check's fresh instance binds the same port: the checks must leave
    # no connection lingering there, or each later start would fail too.
    port = free_port()
    run = run_buggy(harness, "shut_no_reuseaddr.py", "tcp-echo", "--port", str(port))
    assert run.ids_with("failed") == {"shutdown::port_reusable"}, run.stdout
    assert run.ids_with("passed") == CHECKS - {"shutdown::port_reusable"}, run.stdout


def test_server_with_a_hard_coded_port_passes_echo_then_shutdown(harness):
    # Every fresh instance binds the same port, so the shared instance of the
    # echo suite must make room for the shutdown suite's own instances.
    run = harness("--suite", "echo", "--suite", "shutdown", server("tcp_echo_hardcoded_port.py"), str(free_port()))
    assert run.report["server"]["port_source"] == "discovered"
    assert run.ids_with("failed") == set() and run.ids_with("error") == set(), run.stdout
    assert {c for c in CHECKS if run.outcomes()[c] == "passed"} == CHECKS - {"shutdown::no_traceback"}


def test_restart_check_is_skipped_for_a_server_that_picks_a_new_port_each_time(harness):
    run = harness("--suite", "shutdown", "-k", "port_reusable", server("tcp_echo_hardcoded_port.py"))
    assert run.outcomes() == {"shutdown::port_reusable": "skipped"}, run.stdout
    assert "chooses its own port at every start" in run.check("shutdown::port_reusable")["message"]


def python_for_others() -> str:
    """A Python the server's unprivileged uid may run (under root the harness
    drops the server to one; a launcher gets no help reaching ours)."""
    if os.geteuid() != 0 or reachable_by_others(sys.executable):
        return sys.executable
    for folder in os.get_exec_path():
        candidate = os.path.join(folder, "python3")
        if os.access(candidate, os.X_OK) and reachable_by_others(candidate):
            return candidate
    pytest.skip("no python3 that an unprivileged user may run")


@pytest.mark.parametrize("launcher", ["script", "sh -c"])
def test_a_server_started_through_a_launcher_passes_every_shutdown_check(harness, launcher, tmp_path):
    """`sh -c "cd src && python3 server.py"` or a start script that does not
    exec: SIGTERM goes to the server (the listening process), not the shell.
    The submission is one folder (the sandbox shows the server nothing else)."""
    python = python_for_others()
    app = tmp_path / "src"
    app.mkdir()
    shutil.copy(reference("tcp_echo.py"), app / "tcp_echo.py")
    if launcher == "script":
        shutil.copy(server("run_reference_echo.sh"), app / "run_reference_echo.sh")
        run = harness("--suite", "shutdown", str(app / "run_reference_echo.sh"), "{port}", python)
    else:
        run = harness("--suite", "shutdown", "--", "sh", "-c", f"cd src && {python} tcp_echo.py {{port}}")
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.outcomes() == {check: "passed" for check in CHECKS}, run.stdout


def test_children_that_outlive_a_server_started_through_a_launcher_are_still_caught(harness, tmp_path):
    shutil.copy(server("shut_fork_orphans.py"), tmp_path / "shut_fork_orphans.py")
    command = f"{python_for_others()} shut_fork_orphans.py {{port}}; echo the server ended"
    run = harness("--suite", "shutdown", "-k", "sigterm", "--shutdown-timeout", BUGGY_SHUTDOWN_TIMEOUT,
                  "--", "sh", "-c", command)
    assert run.outcomes() == {"shutdown::sigterm_idle": "passed", "shutdown::sigterm_with_clients": "failed"}, run.stdout
    message = run.check("shutdown::sigterm_with_clients")["message"]
    assert "started by sh -c" in message and "still ran 1.5 s after the signal" in message


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_a_node_server_ignoring_sigterm_is_advised_in_node_terms(harness):
    run = harness("--suite", "shutdown", "-k", "sigterm_idle", "--", "node", server("shut_ignores_sigterm.js"))
    failure = run.check("shutdown::sigterm_idle")
    assert failure["outcome"] == "failed"
    assert "process.exit()" in failure["detail"] and "sys.exit" not in failure["detail"], failure["detail"]


def test_a_python_server_ignoring_sigterm_is_advised_in_python_terms(harness):
    run = run_buggy(harness, "shut_ignores_sigterm.py", "tcp-echo", "-k", "sigterm_idle")
    assert "sys.exit(0)" in run.check("shutdown::sigterm_idle")["detail"]


# -- fork-per-client servers as users write and run them ------------------------------
def fork_servers(tmp_path) -> dict[str, list[str]]:
    """The command of each correct fork-per-client server this machine can run."""
    commands = {"python fork": [server("tcp_echo_fork_reaps.py"), "{port}"]}
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler:
        binary = tmp_path / "tcp_echo_fork"
        subprocess.run([compiler, "-O", "-o", str(binary), server("tcp_echo_fork.c")], check=True, timeout=120)
        commands["C fork"] = [str(binary), "{port}"]
    if shutil.which("socat"):
        commands["socat fork"] = ["--", "socat", "TCP-LISTEN:{port},reuseaddr,fork", "EXEC:cat"]
    if shutil.which("busybox"):
        commands["busybox nc -ll"] = ["--", "busybox", "nc", "-ll", "-p", "{port}", "-e", "/bin/cat"]
    return commands


@pytest.mark.parametrize("kind", ["python fork", "C fork", "socat fork", "busybox nc -ll"])
def test_fork_per_client_servers_pass_every_signal_check(harness, tmp_path, kind):
    """Their children, still in the server's process group, get SIGTERM with it and exit by default."""
    command = fork_servers(tmp_path).get(kind)
    if command is None:
        pytest.skip(f"{kind}: not installed here")
    run = harness("--suite", "shutdown", "-k", "sig", *command)
    assert run.outcomes() == {check: "passed" for check in SIGNAL_CHECKS}, run.stdout


def test_a_child_that_left_the_group_is_named_and_the_advice_says_why(harness):
    run = run_buggy(harness, "shut_setsid_child.py", "tcp-echo", "-k", "sigterm_with_clients")
    failure = run.check("shutdown::sigterm_with_clients")
    assert re.search(r"but [123] process(es)? it started still ran 1.5 s after the signal", failure["message"])
    assert "left the group (setsid, a double fork)" in failure["detail"]


def test_a_fixed_port_server_that_closes_first_gets_real_verdicts_not_port_taken(harness):
    """Seed 001's greeting server on a fixed port without SO_REUSEADDR: its
    `exit` makes it close first. The harness's clients reset such connections
    (no TIME_WAIT left on the server's side), so every later instance starts;
    only shutdown::port_reusable, whose point that is, fails on it."""
    port = free_port()
    run = harness("--protocol", "tcp-hello", "--hello-mode", "unframed", "--shutdown-timeout", BUGGY_SHUTDOWN_TIMEOUT,
                  "--port", str(port), server("seed_001_tcp_fixed_port.py"), str(port))
    assert run.ids_with("error") == set(), run.stdout
    assert run.outcomes()["conversation::exit_closes_connection"] == "passed", run.stdout
    shutdown = {c: o for c, o in run.outcomes().items() if c.startswith("shutdown::")}
    assert shutdown == {
        "shutdown::sigint_idle": "passed", "shutdown::sigterm_idle": "passed",
        "shutdown::sigint_with_clients": "failed",  # non-daemon client threads hang Ctrl+C
        "shutdown::sigterm_with_clients": "passed",
        "shutdown::port_reusable": "failed",  # no SO_REUSEADDR
        "shutdown::runs_until_stopped": "passed", "shutdown::no_traceback": "warning",
    }, run.stdout
    assert "Address already in use" in run.check("shutdown::port_reusable")["message"]


@pytest.mark.parametrize("attempt", range(3))
def test_restart_check_fails_a_server_without_reuseaddr_every_time(harness, attempt):
    """It passed 1 run in ~25 while the live connections could end in resets."""
    run = harness("--suite", "shutdown", "-k", "port_reusable", server("shut_no_reuseaddr_plain.py"), "{port}")
    assert run.outcomes() == {"shutdown::port_reusable": "failed"}, run.stdout
    assert "Address already in use" in run.check("shutdown::port_reusable")["message"]


@pytest.mark.parametrize("attempt", range(2))
def test_restart_check_passes_the_reference_every_time(harness, attempt):
    run = harness("--suite", "shutdown", "-k", "port_reusable", reference("tcp_echo.py"), "{port}")
    assert run.outcomes() == {"shutdown::port_reusable": "passed"}, run.stdout


def test_a_traceback_check_that_cannot_hold_a_client_is_not_judged(harness):
    run = run_buggy(harness, "shut_one_client_closes_listener.py", "tcp-echo", "-k", "no_traceback")
    assert run.outcomes() == {"shutdown::no_traceback": "skipped"}, run.stdout
    assert "not judged: no client could be held mid-conversation" in run.check("shutdown::no_traceback")["message"]



def test_a_server_started_in_the_background_by_a_shell_is_told_why_it_ignores_sigint(harness, tmp_path):
    """Blind 17 F9: `./server &` in a start script: the shell started it with SIGINT ignored, and the harness
    advised the program's own signal handling. The cause is the `&`."""
    shutil.copy(reference("tcp_echo.py"), tmp_path / "tcp_echo.py")
    command = f"{python_for_others()} tcp_echo.py {{port}} & echo started"
    run = harness("--check", "shutdown::sigint_idle", "--shutdown-timeout", BUGGY_SHUTDOWN_TIMEOUT,
                  "--", "sh", "-c", command)
    message = run.check("shutdown::sigint_idle")["message"]
    assert "it ignores SIGINT" in message and "a shell starts a background job" in message, message
    done = harness("--check", "shutdown::sigint_idle", "--", "sh", "-c", command.replace(" & echo started", ""))
    assert done.outcomes() == {"shutdown::sigint_idle": "passed"}, done.stdout
