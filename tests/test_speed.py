"""The speed suite: figures are produced, sane, and shown beside the reference
server's; a deliberately slow server's ratios come out below 1; a graded
threshold fails it. No test asserts an absolute speed (the machine is shared)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import reference, server

FAST = ("--speed-duration", "0.2")


def test_speed_suite_is_opt_in(harness):
    run = harness("-k", "single_message or throughput", reference("tcp_echo.py"), "{port}")
    assert "speed::throughput" not in run.outcomes()
    assert run.returncode == 0


def test_reference_tcp_echo_speed_figures_are_informational_and_sane(harness):
    run = harness("--suite", "speed", *FAST, reference("tcp_echo.py"), "{port}")
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.outcomes() == {"speed::throughput": "info", "speed::latency[1 client]": "info",
                              "speed::latency[50 clients]": "info"}
    assert run.report["summary"]["info"] == 3
    throughput = run.check("speed::throughput")["figures"]
    assert throughput["mb_s"] > 0 and throughput["reference_mb_s"] > 0 and throughput["ratio"] > 0
    assert 0 < throughput["generator_cpu_share"] < 2
    for clients in (1, 50):
        figures = run.check(f"speed::latency[{clients} client{'s' if clients > 1 else ''}]")["figures"]
        assert figures["clients"] == clients
        assert 0 < figures["p50_ms"] <= figures["p99_ms"] and 0 < figures["reference_p50_ms"]
        assert figures["round_trips_s"] > 0 and figures["ratio"] > 0
    assert "× the reference" in run.stdout


def test_slow_server_ratios_are_below_one_and_a_graded_threshold_fails_it(harness):
    """One run for both (a speed run of a slow server is the suite's slowest): the ratios are
    below 1, and with --speed-min-ratio the figure below it fails."""
    run = harness("--suite", "speed", *FAST, "--speed-min-ratio", "0.9", server("speed_slow_echo.py"), "{port}")
    assert run.check("speed::latency[1 client]")["figures"]["ratio"] < 1
    result = run.check("speed::throughput")
    assert result["outcome"] == "failed", run.stdout
    assert "below the required 0.9× the reference" in result["message"]
    assert result["figures"]["min_ratio"] == 0.9 and result["figures"]["ratio"] < 0.9
    assert run.returncode == 1


def test_udp_rate_steps_and_a_slow_server(harness):
    run = harness("--protocol", "udp-echo", "--suite", "speed", server("speed_slow_udp_echo.py"), "{port}")
    result = run.check("speed::udp_rate")
    assert result["outcome"] == "info", run.stdout
    figures = result["figures"]
    assert [step["offered"] for step in figures["steps"]] == [10_000, 50_000, 100_000, 150_000]
    assert all(0 <= step["loss"] <= 1 and step["reference_reply_rate"] > 0 for step in figures["steps"])
    assert figures["ratio"] < 1


@pytest.mark.skipif(not (Path(reference("tcp_framed.py"))).exists(), reason="no tcp-framed reference server yet")
def test_tcp_framed_speed_uses_frames(harness):
    run = harness("--protocol", "tcp-framed", "--suite", "speed", *FAST, "-k", "throughput",
                  reference("tcp_framed.py"), "{port}")
    assert run.check("speed::throughput")["outcome"] == "info", run.stdout
    assert run.check("speed::throughput")["figures"]["mb_s"] > 0


def test_speed_figures_become_gradescope_leaderboard_columns():
    from harness.results.leaderboard import leaderboard
    from harness.results.report import CheckResult, Report, ServerInfo

    report = Report("tcp-echo", ServerInfo(command=["s"]), checks=[
        CheckResult("speed::throughput", "speed", "info", 3.0, figures={"mb_s": 812.34567, "ratio": 0.9}),
        CheckResult("speed::latency[1 client]", "speed", "info", 3.0, figures={"p50_ms": 0.021}),
        CheckResult("echo::single_message", "echo", "passed", 0.0),
    ])
    assert leaderboard(report) == [
        {"name": "Throughput (MB/s)", "value": 812.346, "order": "desc"},
        {"name": "Throughput vs reference", "value": 0.9, "order": "desc"},
        {"name": "Latency p50, 1 client (ms)", "value": 0.021, "order": "asc"},
    ]


def test_an_assignment_file_can_grade_speed_and_fill_a_leaderboard(harness, tmp_path):
    config = tmp_path / "harness.toml"
    config.write_text(f'protocol = "tcp-echo"\ncommand = ["{server("speed_slow_echo.py")}", "{{port}}"]\n'
                      'suites = ["speed"]\nchecks = ["speed::throughput"]\nspeed-min-ratio = 0.5\nspeed-duration = 0.2\n')
    gradescope = tmp_path / "results.json"
    run = harness("--config", str(config), "--gradescope", str(gradescope), cwd=tmp_path)
    assert run.check("speed::throughput")["outcome"] == "failed", run.stdout
    board = json.loads(gradescope.read_text())["leaderboard"]
    assert [entry["name"] for entry in board] == ["Throughput (MB/s)", "Throughput vs reference"]
    assert board[1]["value"] < 0.5


def test_junk_is_not_throughput(harness):
    """Blind 16: a server that streamed junk at the load generator (reading and dropping what it was sent)
    measured 0.85× the reference instead of its real 0.35×; only the echo counts now."""
    run = harness("--suite", "speed", *FAST, "--speed-min-ratio", "0.01", "-k", "throughput",
                  server("hostile_speed_junk.py"), "{port}")
    result = run.check("speed::throughput")
    assert result["outcome"] == "failed", run.stdout
    assert result["message"].startswith("the server could not be measured: the echo differs from what was sent "
                                        "within stream bytes 0–64"), result["message"]


class _Replier:
    """A loopback server thread answering every request with `reply(data)` (a list of datagrams / one reply)."""

    def __init__(self, kind: int, reply) -> None:
        import socket
        import threading

        self.sock = socket.socket(socket.AF_INET, kind)
        self.sock.bind(("127.0.0.1", 0))
        self.reply = reply
        if kind == socket.SOCK_STREAM:
            self.sock.listen(4)
        threading.Thread(target=self.serve_udp if kind == socket.SOCK_DGRAM else self.serve_tcp, daemon=True).start()

    @property
    def endpoint(self):
        import socket

        from harness.server.launcher import Endpoint

        return Endpoint("127.0.0.1", self.sock.getsockname()[1], socket.AF_INET, "assigned", "loopback")

    def serve_udp(self) -> None:
        while True:
            data, address = self.sock.recvfrom(65536)
            for answer in self.reply(data):
                self.sock.sendto(answer, address)

    def serve_tcp(self) -> None:
        conn, _ = self.sock.accept()
        with conn:
            while data := conn.recv(65536):
                conn.sendall(self.reply(data))


def test_a_datagram_answered_three_times_counts_once_and_junk_not_at_all():
    import socket

    from harness.clients import loadgen

    echo = loadgen.udp_rate(_Replier(socket.SOCK_DGRAM, lambda d: [d]).endpoint, 1000, 0.2, drain=0.2)
    assert echo.received == echo.sent > 0
    thrice = loadgen.udp_rate(_Replier(socket.SOCK_DGRAM, lambda d: [d] * 3).endpoint, 1000, 0.2, drain=0.2)
    assert 0 < thrice.received <= thrice.sent
    with pytest.raises(loadgen.Garbled, match="a reply is not a datagram that was sent"):
        loadgen.udp_rate(_Replier(socket.SOCK_DGRAM, lambda d: [b"x" * len(d)]).endpoint, 1000, 0.2, drain=0.2)


def test_a_round_trip_counts_only_with_the_message_itself():
    import socket

    from harness.clients import loadgen

    message = bytes(range(32))
    with loadgen.ClosedLoopClients(_Replier(socket.SOCK_STREAM, lambda d: d).endpoint, message, 1, 2.0) as crowd:
        assert crowd.measure(0.1).samples
    with loadgen.ClosedLoopClients(_Replier(socket.SOCK_STREAM, lambda d: b"\0" * len(d)).endpoint, message, 1,
                                   2.0) as crowd, pytest.raises(loadgen.Garbled, match="a reply differs"):
        crowd.measure(0.1)
