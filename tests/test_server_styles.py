"""Servers written in the styles users write them in, run through every suite
of their protocol: correct ones pass with no failure, no error, and no
warning beyond one the style cannot avoid (named with the reason); servers
correct at echo but written as students do get exactly the shutdown
verdicts they earn."""

from __future__ import annotations

import shutil

import pytest
from conftest import server

NODE = shutil.which("node")

#: (server file, protocol, outcomes other than "passed" (check id -> outcome), extra options)
STYLES = [
    ("tcp_echo_asyncio.py", "tcp-echo", {}, ()),
    ("tcp_framed_asyncio.py", "tcp-framed", {}, ()),
    ("tcp_framed_two_writes.py", "tcp-framed", {}, ()),
    # Python 3.11's asyncio transport.sendto(b"") sends nothing.
    ("udp_echo_asyncio.py", "udp-echo", {"echo::empty_datagram_answered": "warning"}, ()),
    ("udp_echo_socketserver.py", "udp-echo", {}, ()),
    ("tcp_hello_asyncio.py", "tcp-hello", {}, ()),
    ("tcp_hello_socketserver.py", "tcp-hello", {}, ()),
    ("tcp_echo_dualstack.py", "tcp-echo", {}, ()),
    ("udp_echo.js", "udp-echo", {}, ()),
    ("tcp_framed.js", "tcp-framed", {}, ()),
    # Correct at echo, written as students do: Ctrl+C ends them with a KeyboardInterrupt traceback.
    ("tcp_echo_socketserver.py", "tcp-echo", {"shutdown::no_traceback": "warning"}, ()),
    ("tcp_echo_ipv6.py", "tcp-echo", {"shutdown::no_traceback": "warning"}, ()),
    ("tcp_echo_slow_start_chatty.py", "tcp-echo", {"shutdown::no_traceback": "warning"}, ()),
    # ... and a fork per client: SIGTERM and Ctrl+C to its process group end its children too.
    ("tcp_echo_forking.py", "tcp-echo", {"shutdown::no_traceback": "warning"}, ()),
]


@pytest.mark.parametrize("name, protocol, expected, options", STYLES, ids=[s[0] for s in STYLES])
def test_every_suite_gives_the_expected_verdicts(harness, name, protocol, expected, options):
    if name.endswith(".js"):
        if NODE is None:
            pytest.skip("node is not installed")
        command = ["--", NODE, server(name), "{port}"]
    else:
        command = [server(name), "{port}"]
    run = harness("--protocol", protocol, *options, *command)
    outcomes = run.outcomes()
    assert {i: o for i, o in outcomes.items() if o != "passed"} == expected, run.stdout
    assert len(outcomes) >= 15, run.stdout  # every suite of the protocol ran
    assert run.returncode == (1 if "failed" in expected.values() else 0), run.stdout + run.stderr


def test_asyncio_cancellation_traceback_is_a_warning_with_asyncio_advice(harness):
    run = harness("-k", "no_traceback", server("tcp_echo_asyncio_noisy.py"), "{port}")
    assert run.outcomes() == {"shutdown::no_traceback": "warning"}, run.stdout
    message = run.check("shutdown::no_traceback")["message"]
    assert "catch asyncio.CancelledError in the connection handler" in message, message
    assert run.returncode == 0


def test_socketserver_udp_default_packet_size_is_caught_and_explained(harness):
    run = harness("--protocol", "udp-echo", "--suite", "echo", server("udp_echo_socketserver_8k.py"), "{port}")
    assert run.ids_with("failed") == {"echo::large_payload"}, run.stdout
    assert "set max_packet_size = 65535" in run.check("echo::large_payload")["message"]
