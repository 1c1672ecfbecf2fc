"""Benchmark (not a test): is the harness or the server the bottleneck of the
concurrency suite?

    python benchmarks/bench_concurrency.py [--repeat 5] [--clients 50 200]

For each reference server and crowd size: wall time of one crowd run (every
client connected, paced by the server's accept queue as in the suite, 4
interleaved messages each), the CPU seconds the harness
spent driving it, and the CPU seconds the server (children included) spent
serving it. Also the 500 sequential connections of the descriptor-leak check.
Only loopback traffic; bounded repeats.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from harness.clients.crowd import accept_queue_of, run_tcp_crowd
from harness.clients.udp_crowd import run_udp_crowd
from harness.evidence.crosstalk import tagged_conversations
from harness.server.launcher import ServerProcess, ServerSpec
from harness.settings import Settings
from harness.suites.test_concurrency import SequentialClients

REFERENCE = Path(__file__).resolve().parent.parent / "reference_servers"
SERVERS = [("tcp", "tcp_echo.py"), ("tcp", "tcp_echo_selectors.py"), ("tcp", "tcp_echo_socketserver.py"),
           ("udp", "udp_echo.py")]


def measure(instance: ServerProcess, action) -> tuple[float, float, float]:
    """(wall s, harness CPU s, server CPU s) of one call of `action`."""
    pids = instance.pids()
    server_before = instance.probe.cpu_seconds(pids)
    cpu_before, wall_before = time.process_time(), time.monotonic()
    action()
    wall, cpu = time.monotonic() - wall_before, time.process_time() - cpu_before
    return wall, cpu, instance.probe.cpu_seconds(instance.pids()) - server_before


def sequential(endpoint, count: int) -> None:
    """The descriptor-leak check's clients: each echoes one message, half-closes, waits for the server's close."""
    clients = SequentialClients(endpoint, Settings())
    for index in range(count):
        clients.converse(f"connection {index + 1}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--clients", type=int, nargs="+", default=[50, 200])
    args = parser.parse_args()
    print(f"{'server':<26} {'workload':<22} {'wall ms':>8} {'harness CPU ms':>15} {'server CPU ms':>14}")
    for transport, name in SERVERS:
        instance = ServerProcess(ServerSpec(argv=(sys.executable, "-u", str(REFERENCE / name), "{port}"),
                                            transport=transport))
        endpoint = instance.start()
        try:
            workloads = []
            for clients in args.clients:
                crowd = tagged_conversations(clients, seed=4)
                if transport == "tcp":
                    workloads.append((f"{clients} clients x 4 msgs",
                                      lambda c=crowd: run_tcp_crowd(endpoint, c, 2.0, 5.0, seed=4,
                                                                    unaccepted=accept_queue_of(instance))))
                else:
                    workloads.append((f"{clients} senders x 4 dgrams",
                                      lambda c=crowd: run_udp_crowd(endpoint, c, 2.0, seed=4)))
            if transport == "tcp":
                workloads.append(("500 sequential conns", lambda: sequential(endpoint, 500)))
            for label, action in workloads:
                runs = [measure(instance, action) for _ in range(args.repeat)]
                wall, cpu, server = (statistics.median(r[i] for r in runs) * 1000 for i in range(3))
                print(f"{name:<26} {label:<22} {wall:8.1f} {cpu:15.1f} {server:14.1f}")
        finally:
            instance.stop()


if __name__ == "__main__":
    main()
