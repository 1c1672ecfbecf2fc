"""The plugin's own rules, each in one place: the retry on a fresh server reads
a per-check contact record every client reports into (UDP too), and a check's
outcome comes from one table, tier × what happened."""

from __future__ import annotations

import os
import socket

import pytest
from conftest import ROOT, TEST_REPLY_TIMEOUT, server

from harness.checks import INFORMATIONAL, RECOMMENDED, REQUIRED
from harness.clients.contact import ContactRecord, recording
from harness.clients.udp import UdpClient
from harness.deadline import Deadline
from harness.plugin.verdicts import verdict
from harness.server.launcher import Endpoint

PLUGINS = str(ROOT / "tests" / "plugins")


def test_a_udp_check_whose_server_left_mid_check_runs_once(harness, tmp_path):
    """The server leaves on the empty datagram, after the check's first datagram got through: the check
    reached the server, so it is not run again on a fresh one (UDP clients report their contact as TCP
    clients do; they used to report none, and every such check ran twice: same verdict, double time)."""
    runs = tmp_path / "runs.txt"
    path = os.pathsep.join(filter(None, [PLUGINS, os.environ.get("PYTHONPATH")]))
    run = harness("--protocol", "udp-echo", "--check", "echo::survives_empty_datagram",
                  "--reply-timeout", TEST_REPLY_TIMEOUT, server("udp_stop_on_empty.py"), "{port}",
                  env={"PYTHONPATH": path, "PYTEST_ADDOPTS": "-p countruns", "HARNESS_TEST_COUNT_RUNS": str(runs)})
    assert run.outcomes() == {"echo::survives_empty_datagram": "failed"}, run.stdout + run.stderr
    assert len(runs.read_text().splitlines()) == 1, runs.read_text()


def test_udp_clients_report_their_contact_with_the_server():
    """What the retry reads: a datagram sent is a reach, a datagram received a reply."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as echo:
        echo.bind(("127.0.0.1", 0))
        endpoint = Endpoint("127.0.0.1", echo.getsockname()[1], socket.AF_INET, "assigned", "UDP 127.0.0.1")
        record = ContactRecord()
        with recording(record), UdpClient(endpoint, 1.0) as client:
            assert record.untouched()
            client.send(b"ping")
            data, address = echo.recvfrom(100)
            echo.sendto(data, address)
            assert client.receive(Deadline(1.0)) == b"ping"
        assert (record.reaches, record.replies) == (1, 1)
        assert not record.untouched()


def test_reports_outside_a_check_go_nowhere():
    from harness.clients import contact

    contact.reached()  # no record active: nothing to count, nothing raised
    record = ContactRecord()
    with recording(record):
        contact.reached()
    contact.replied()
    assert (record.reaches, record.replies) == (1, 0)


@pytest.mark.parametrize(("tier", "happened", "strict", "graded", "outcome"), [
    (REQUIRED, "failed", False, False, "failed"),
    (REQUIRED, "broke", False, False, "failed"),
    (RECOMMENDED, "failed", False, False, "warning"),
    (RECOMMENDED, "broke", False, False, "warning"),
    (RECOMMENDED, "failed", True, False, "failed"),
    (INFORMATIONAL, "failed", False, False, "info"),
    (INFORMATIONAL, "broke", False, False, "failed"),
    (INFORMATIONAL, "informed", False, False, "info"),
    (INFORMATIONAL, "informed", False, True, "passed"),
    (INFORMATIONAL, "failed", False, True, "failed"),
    (REQUIRED, "informed", False, False, "passed"),
    (RECOMMENDED, "not run", False, False, "error"),
    (INFORMATIONAL, "error", False, False, "error"),
    (REQUIRED, "skipped", False, False, "skipped"),
])
def test_one_verdict_table(tier, happened, strict, graded, outcome):
    assert verdict(tier, happened, strict=strict, graded=graded) == outcome
