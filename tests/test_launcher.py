"""Starting real servers of every style, and failing clearly on bad ones."""

from __future__ import annotations

import os
import re
import shutil
import socket

import pytest
from conftest import FALLBACK, reference, server

from harness.system import bwrap


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- bad input: exit 2 --------------------------------------------------------
def test_missing_server_file_is_a_usage_error_with_a_report(harness):
    run = harness("./no_such_server.py")
    assert run.returncode == 2
    assert "server not found" in run.stderr and "no_such_server.py" in run.stderr
    assert "Traceback" not in run.stderr
    assert run.report["server"]["startup_error"].startswith("server not found")
    assert run.report["checks"] == []


def test_non_executable_server_is_a_usage_error(harness):
    run = harness(server("not_executable.sh"))
    assert run.returncode == 2
    assert "is not executable" in run.stderr
    assert "run it with its interpreter: harness run [OPTIONS] -- sh " in run.stderr


def test_a_c_source_file_is_told_to_be_compiled_not_chmodded(harness):
    """A student hands over echo.c: chmod +x would only lead to 'Exec format error'."""
    run = harness(server("echo_strlen.c"), "{port}")
    assert run.returncode == 2
    assert "is C source code, not a program: compile it first (gcc -O2 -pthread -o " in run.stderr, run.stderr
    assert "chmod" not in run.stderr, run.stderr


def test_unknown_command_after_dashdash(harness):
    run = harness("--", "no-such-command-xyz", "{port}")
    assert run.returncode == 2
    assert "command not found" in run.stderr


@pytest.mark.parametrize("args, message", [
    (["--suite", "nonsense"], "unknown suite 'nonsense'"),
    (["--protocol", "http"], "unknown protocol 'http'"),
    (["--reply-timeout", "soon"], "invalid --reply-timeout 'soon'"),
    (["--host", "10.1.2.3"], "only tests on loopback"),
])
def test_bad_options_are_usage_errors(harness, args, message):
    run = harness(*args, reference("tcp_echo.py"), "{port}")
    assert run.returncode == 2
    assert message in run.stderr
    assert "Traceback" not in run.stderr


def test_no_check_selected_is_a_usage_error(harness):
    run = harness("-k", "matches_nothing_at_all", reference("tcp_echo.py"), "{port}")
    assert run.returncode == 2
    assert "no check selected" in run.stderr


# -- server could not start: exit 3 -------------------------------------------
def test_crash_at_start_shows_exit_code_and_stderr_tail(harness):
    run = harness(server("crashes_at_start.py"), "{port}")
    assert run.returncode == 3
    error = run.report["server"]["startup_error"]
    assert "exited before it listened (exit code 1)" in error
    assert "database connection failed" in run.stdout
    assert {c["outcome"] for c in run.report["checks"]} == {"error"}


@pytest.mark.parametrize("name, advice", [
    ("binds_lan_address.py", "bind '127.0.0.1', '0.0.0.0' or '' rather than a LAN address"),
    ("binds_its_port_twice.py", "its port is already taken"),
])
def test_bind_error_at_start_says_what_to_bind(harness, name, advice):
    run = harness(server(name), "{port}")
    assert run.returncode == 3
    error = run.report["server"]["startup_error"]
    assert "exited before it listened (exit code 1): " in error and advice in error
    assert "Errno" in run.stdout  # the server's own error is still shown


def test_a_server_that_crashes_on_sys_argv_without_port_is_told_to_add_port(harness):
    run = harness("--suite", "echo", server("port_from_argv.py"))
    assert run.returncode == 3
    assert "put {port} after the server" in run.report["server"]["startup_error"]
    assert "IndexError" in run.stdout  # its own traceback is still shown


def test_a_crash_on_sys_argv_with_port_given_is_not_told_to_add_it(harness, tmp_path):
    script = tmp_path / "argv2.py"
    script.write_text("import sys\nprint(sys.argv[2])\n")  # a second argument nobody gave
    run = harness("--suite", "echo", str(script), "{port}")
    assert run.returncode == 3
    assert "IndexError" in run.stdout
    assert "{port}" not in run.report["server"]["startup_error"]


def test_a_crash_unrelated_to_bind_gets_no_bind_advice(harness):
    run = harness(server("crashes_at_start.py"), "{port}")
    assert "bind" not in run.report["server"]["startup_error"]


@pytest.mark.skipif(os.geteuid() != 0, reason="the server is dropped to an unprivileged uid only under root")
def test_a_program_only_root_may_run_is_explained_under_root(harness, tmp_path):
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    program = private / "server.sh"
    program.write_text("#!/bin/sh\necho never runs\n")
    program.chmod(0o755)
    run = harness("--suite", "echo", "--no-bwrap", "--", "sh", "-c", f"{program} {{port}}")
    assert run.returncode == 3
    error = run.report["server"]["startup_error"]
    assert "Permission denied" in run.stdout
    assert re.search(r"the server runs as an unprivileged user \(uid \d+\)", error), error
    assert "readable by all users" in error


@pytest.mark.skipif(bool(FALLBACK) or bwrap.unavailable_reason() is not None, reason="bubblewrap does not run here")
def test_a_program_outside_the_sandbox_is_explained(harness, tmp_path):
    private = tmp_path / "elsewhere"
    private.mkdir()
    program = private / "server.sh"
    program.write_text("#!/bin/sh\necho never runs\n")
    program.chmod(0o755)
    run = harness("--suite", "echo", "--", "sh", "-c", f"{program} {{port}}")
    assert run.returncode == 3
    error = run.report["server"]["startup_error"]
    assert "not found" in run.stdout
    assert "runs in a sandbox (bubblewrap)" in error and "--no-bwrap" in error, error


def test_syntax_error_at_start(harness):
    run = harness(server("syntax_error.py"))
    assert run.returncode == 3
    assert "SyntaxError" in run.stdout


def test_never_listening_server_fails_within_the_startup_timeout(harness):
    run = harness("--startup-timeout", "1", server("never_listens.py"))
    assert run.returncode == 3
    error = run.report["server"]["startup_error"]
    assert "did not listen on TCP port" in error and "within 1 s" in error
    assert "listens on no port at all" in error
    assert "starting up..." in run.stdout  # its output is shown
    assert run.elapsed < 30  # bounded by the startup timeout, not by retries per check


def test_server_listening_on_the_wrong_transport_says_what_it_listens_on(harness):
    run = harness("--startup-timeout", "1", server("listens_on_udp.py"), "{port}")
    assert run.returncode == 3
    assert "it listens on UDP 127.0.0.1:" in run.report["server"]["startup_error"]


def test_a_udp_server_run_as_tcp_is_named_udp_at_once(harness):
    """No --protocol: the default tcp-echo. The UDP socket on the assigned port is the evidence:
    the run says --protocol udp-echo without waiting out the start-up timeout."""
    run = harness(reference("udp_echo.py"), "{port}")
    assert run.returncode == 3
    error = run.report["server"]["startup_error"]
    assert "--protocol udp-echo" in error and "within" not in error


def test_a_server_with_no_udp_socket_is_not_told_to_use_udp(harness):
    run = harness("--startup-timeout", "1", server("never_listens.py"), "{port}")
    assert run.returncode == 3
    assert "--protocol" not in run.report["server"]["startup_error"]


def test_fixed_port_mismatch_names_both_ports(harness):
    actual, expected = free_port(), free_port()
    run = harness("--startup-timeout", "1", "--port", str(expected), server("tcp_echo_hardcoded_port.py"), str(actual))
    assert run.returncode == 3
    error = run.report["server"]["startup_error"]
    assert f"port {expected}" in error and f"127.0.0.1:{actual} instead" in error


# -- real servers of many styles pass ------------------------------------------
#: More styles, through every suite: tests/test_server_styles.py.
GOOD = [
    ("floods_output.py", ["{port}"]),
    ("double_fork_daemon.py", ["{port}"]),
]


@pytest.mark.parametrize("name, args", GOOD, ids=[g[0] for g in GOOD])
def test_correct_servers_of_every_style_pass(harness, name, args):
    run = harness("--suite", "echo", server(name), *args)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.ids_with("passed") and not run.ids_with("failed")


def test_ipv6_only_server_is_reached_on_ipv6_loopback(harness):
    run = harness("--suite", "echo", "-k", "single_message", server("tcp_echo_ipv6.py"), "{port}")
    assert run.report["server"]["listening"].startswith("TCP [::1]:")


def test_server_ignoring_the_assigned_port_is_discovered(harness):
    run = harness("--suite", "echo", server("tcp_echo_hardcoded_port.py"))
    assert run.returncode == 0, run.stdout
    assert run.report["server"]["port_source"] == "discovered"
    # No {port} on its command line: it got the port only as $PORT, and is told where {port} goes.
    assert ("note: the server did not take the assigned port (its command line has no {port}; it got the port "
            "only as $PORT); discovered it listening on TCP 127.0.0.1:") in run.stdout, run.stdout


def test_a_literal_port_on_the_command_line_is_told_to_become_port(harness):
    own = free_port()
    run = harness("--suite", "echo", "-k", "single_message", server("tcp_echo_hardcoded_port.py"), str(own))
    assert run.report["server"]["port"] == own, run.stdout
    assert f"note: the server listens on port {own}, written on its command line: write {{port}} there" in run.stdout


def test_a_server_that_ignores_a_given_port_is_told_so(harness):
    run = harness("--suite", "echo", "-k", "single_message", server("hostile_fixed_port.py"), "{port}")
    assert run.report["server"]["port"] == 9999, run.stdout
    assert "note: the server ignored the assigned port; discovered it listening on TCP 127.0.0.1:9999" in run.stdout


def header_argv(stdout: str) -> list[str]:
    line = next(line for line in stdout.splitlines() if line.startswith("harness · protocol"))
    return line.partition(" · server: ")[2].split()


def test_header_shows_the_port_the_server_was_started_with_not_the_one_found(harness):
    own = free_port()
    run = harness("--suite", "echo", "-k", "single_message", server("tcp_echo_hardcoded_port.py"), str(own), "{port}")
    assert run.report["server"]["port"] == own and run.report["server"]["port_source"] == "discovered"
    *_, fixed, given = header_argv(run.stdout)
    assert fixed == str(own) and given.isdigit() and int(given) != own, run.stdout
    assert "started_port" not in run.report["server"]  # the report's fields are unchanged


def test_a_status_port_opened_first_is_not_graded(harness):
    # It listens on port+1000 at once and on the assigned port 1 s later.
    run = harness("--suite", "echo", server("tcp_echo_status_port_first.py"), "{port}")
    assert run.returncode == 0, run.stdout
    assert run.report["server"]["port_source"] == "assigned"
    assert header_argv(run.stdout)[-1] == str(run.report["server"]["port"])
    assert "ignored the assigned port" not in run.stdout


def test_decoy_ports_do_not_choose_which_socket_is_graded(harness):
    # Correct echoes on port+1 and port+2 at once; an upper-casing one on the assigned port 0.5 s later.
    run = harness("--suite", "echo", "-k", "single_message", server("hostile_decoy_ports.py"), "{port}")
    assert run.returncode == 1, run.stdout
    assert run.report["server"]["port_source"] == "assigned"
    assert run.outcomes() == {"echo::single_message": "failed"}


def test_fixed_port(harness):
    port = free_port()
    run = harness("--port", str(port), "--suite", "echo", reference("tcp_echo.py"), str(port))
    assert run.returncode == 0, run.stdout
    assert run.report["server"]["port"] == port
    assert run.report["server"]["port_source"] == "fixed"


def test_readiness_does_not_steal_a_single_shot_servers_accept(harness):
    run = harness("-k", "many_round_trips", server("tcp_echo_single_shot_probe.py"), "{port}")
    assert run.outcomes() == {"echo::many_round_trips": "passed"}


def test_output_flood_is_capped_and_does_not_slow_the_verdict(harness, tmp_path):
    run = harness("-k", "single_message", server("floods_output.py"), "{port}")
    assert run.returncode == 0
    assert run.elapsed < 60


def test_dashdash_runs_any_command_line(harness):
    run = harness("--suite", "echo", "--", "python3", reference("tcp_echo.py"), "{port}", "{host}")
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_node_server_with_port_from_environment(harness):
    run = harness("--suite", "echo", "--", "node", server("tcp_echo.js"))
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.report["server"]["port_source"] == "assigned"


def test_portable_psutil_probe_gives_the_same_verdicts(harness):
    run = harness("--suite", "echo", reference("tcp_echo.py"), "{port}", env={"HARNESS_PROBE": "psutil"})
    assert run.returncode == 0, run.stdout + run.stderr
    buggy = harness("--suite", "echo", "-k", "frees_closed", server("tcp_never_closes.py"), "{port}",
                    env={"HARNESS_PROBE": "psutil"})
    assert buggy.ids_with("failed") == {"echo::frees_closed_connection"}


@pytest.mark.skipif(shutil.which("socat") is None, reason="socat is not installed")
def test_socat_tcp_echo_passes(harness):
    run = harness("--suite", "echo", "--", "socat", "TCP-LISTEN:{port},fork,reuseaddr", "EXEC:cat")
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.report["server"]["listening"].startswith("TCP 0.0.0.0:")


@pytest.mark.skipif(shutil.which("socat") is None, reason="socat is not installed")
def test_socat_udp_echo_passes_with_a_warning_for_the_empty_datagram(harness):
    # socat relays at most 8192 bytes a datagram unless given -b; -b 65535 makes it a full echo.
    run = harness("--protocol", "udp-echo", "--suite", "echo", "--reply-timeout", "0.5",
                  "--", "socat", "-b", "65535", "UDP-RECVFROM:{port},fork", "EXEC:cat")
    assert run.ids_with("failed") == set(), run.stdout
    assert run.ids_with("warning") == {"echo::empty_datagram_answered"}
    assert run.returncode == 0


@pytest.mark.skipif(shutil.which("socat") is None, reason="socat is not installed")
def test_socat_udp_echo_without_a_big_buffer_is_told_the_option(harness):
    run = harness("--protocol", "udp-echo", "--suite", "echo", "-k", "large_payload", "--reply-timeout", "0.5",
                  "--", "socat", "UDP-RECVFROM:{port},fork", "EXEC:cat")
    assert run.ids_with("failed") == {"echo::large_payload"}, run.stdout
    assert "cut to 8192 of 65507 bytes" in run.check("echo::large_payload")["message"]
    assert "socat: add -b 65536" in run.check("echo::large_payload")["message"]


@pytest.mark.parametrize("check", ["echo::single_message", "concurrency::idle_client_does_not_block"])
def test_the_header_shows_the_command_with_its_real_port(harness, check):
    # the second check starts its own server in its call, after a setup that has no port yet
    run = harness("--check", check, reference("tcp_echo.py"), "{port}")
    header = run.stdout.splitlines()[0]
    assert header.startswith("harness · protocol tcp-echo · server: ")
    assert header.endswith(f"tcp_echo.py {run.report['server']['port']}") and "{port}" not in header


def test_a_command_server_run_from_a_big_folder_copies_nothing_of_it(harness, tmp_path):
    """`harness run -- socat ...` started from a folder of 1,500 files: socat names
    none of them, so none is copied (no 'the copy ... stopped' note)."""
    if shutil.which("socat") is None:
        pytest.skip("socat is not installed")
    big = tmp_path / "big"
    big.mkdir()
    for index in range(1500):
        (big / f"file-{index}.txt").write_text("x")
    run = harness("--suite", "echo", "-k", "single_message", "--", "socat", "TCP-LISTEN:{port},fork,reuseaddr",
                  "EXEC:cat", cwd=big)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "copy of" not in run.stdout + run.stderr
