"""One settings path: `harness run` and `pytest --server` make a run's settings and
its server command with the same functions, so the two doors cannot drift apart."""

from __future__ import annotations

import os
import shlex
import shutil
import sys

import pytest
from conftest import reference

from harness.errors import ConfigError, ExitCode
from harness.server.command import is_bare_command, server_argv, typed_argv
from harness.settings import OPTIONS, check_workers, fixed_port_collides, pytest_args, read_values, run_settings


def test_exit_codes_are_one_table():
    assert [int(code) for code in ExitCode] == [0, 1, 2, 3, 4, 130]
    assert ConfigError.exit_code == ExitCode.USAGE == 2


def test_both_doors_give_the_same_settings_and_the_same_errors():
    given = {"harness_reply_timeout": "0.5", "harness_strict": True}
    from_cli = run_settings(given.get)
    from_pytest = run_settings(given.get, lambda dest: "")  # no ini value: the command line's
    assert from_cli == from_pytest
    assert (from_cli.reply_timeout, from_cli.strict) == (0.5, True)
    for ini in (None, lambda dest: None):
        with pytest.raises(ConfigError, match="unknown suite 'nonsense'; known suites: echo"):
            run_settings({}.get, ini, suites=["echo", "nonsense"])


def test_an_ini_value_is_used_and_named_in_errors():
    ini = {"harness_reply_timeout": "soon"}
    assert read_values({}.get, ini.get) == ({"reply-timeout": "soon"}, "ini file")
    with pytest.raises(ConfigError, match="invalid --reply-timeout 'soon' from ini file"):
        run_settings({}.get, ini.get)


def test_the_transport_format_makes_the_same_values_again():
    given = {"harness_reply_timeout": "0.5", "harness_strict": True, "harness_html": "r.html"}
    args = pytest_args(given.get)
    assert args == ["--reply-timeout", "0.5", "--strict-checks", "--harness-html", "r.html"]
    flags = {o.pytest_option: o for o in OPTIONS}
    back: dict[str, object] = {}
    words = iter(args)
    for word in words:
        option = flags[word]
        back[option.dest] = True if option.type is bool else next(words)
    assert back == given


def test_a_fixed_port_with_workers_collides_only_without_namespaces():
    fixed = run_settings({"harness_port": "9999"}.get)
    assert fixed_port_collides(fixed, "2", lambda: "no namespaces here")
    assert fixed_port_collides(fixed, 2, lambda: "no namespaces here")
    assert not fixed_port_collides(fixed, "2", lambda: None)
    assert not fixed_port_collides(fixed, "0", lambda: "no namespaces here")
    assert not fixed_port_collides(fixed, None, lambda: "no namespaces here")
    assert not fixed_port_collides(run_settings({}.get), "2", lambda: "no namespaces here")
    assert fixed_port_collides(run_settings({"harness_port": "9999", "harness_no_isolate": True}.get), "2", lambda: None)


@pytest.mark.parametrize("workers", ["0", "4", "auto", None])
def test_good_worker_counts(workers):
    check_workers(workers)


@pytest.mark.parametrize("workers", ["-1", "many"])
def test_bad_worker_counts(workers):
    with pytest.raises(ConfigError, match=f"invalid -n '{workers}'"):
        check_workers(workers)


def test_commands_are_resolved_by_one_set_of_rules():
    assert is_bare_command("node") and is_bare_command("python3")
    assert not is_bare_command("server.py") and not is_bare_command("./server")
    with pytest.raises(ConfigError, match="no server given"):
        typed_argv(None, [], None)
    with pytest.raises(ConfigError, match="no command after --"):
        typed_argv(None, [], [])
    assert typed_argv(None, [], ["sh", "-c", "cat"]) == ["sh", "-c", "cat"]
    with pytest.raises(ConfigError, match=r"both a SERVER \(server.py\) and a command after -- \(\{port\}\)"):
        typed_argv("server.py", [], ["{port}"])  # `harness run server.py -- {port}`
    assert server_argv("sh -c 'cat {port}'") == ["sh", "-c", "cat {port}"]  # a bare name: a command
    python = typed_argv(reference("tcp_echo.py"), ["{port}"], None)
    assert python == [sys.executable, "-u", reference("tcp_echo.py"), "{port}"]
    # What `harness run` resolved reaches the plugin as it is, never resolved a second time.
    assert server_argv(shlex.join(python), resolved=True) == python
    assert server_argv(shlex.join(["python3.11", "x.py"]), resolved=True) == ["python3.11", "x.py"]


DOTTED = os.path.basename(os.path.realpath(sys.executable))


@pytest.mark.skipif(not os.path.splitext(DOTTED)[1] or shutil.which(DOTTED) is None,
                    reason="needs a Python on PATH whose name has a dot (python3.11)")
def test_a_command_whose_name_has_a_dot_runs_after_dashdash(harness):
    # Resolved twice, with the plugin's rule ("a name with a suffix is a file"), it was "server not found".
    run = harness("--suite", "echo", "-k", "single_message", "--", DOTTED, reference("tcp_echo.py"), "{port}")
    assert run.returncode == 0, run.stdout + run.stderr
