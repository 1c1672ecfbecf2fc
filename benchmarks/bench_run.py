"""Benchmark (not a test): time-to-verdict of `harness run` and readiness latency.

    python benchmarks/bench_run.py [--repeat 10]

- time-to-verdict: wall time of a whole `harness run` (interpreter start,
  pytest, server start, every check, report) on each reference server.
- readiness latency: time from the server's `listen()` (it prints
  time.monotonic() right after; CLOCK_MONOTONIC is system-wide on Linux) to the
  launcher returning the endpoint.
- server start-up: the same server's own time from spawn to listen.
Only loopback traffic; bounded repeats.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from harness.server.command import reference_server
from harness.server.launcher import ServerProcess, ServerSpec

LISTEN_STAMP = (
    "import socket, sys, time\n"
    "s = socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen()\n"
    "print('LISTEN', time.monotonic(), flush=True)\n"
    "time.sleep(30)\n"
)


def time_to_verdict(protocol: str, server: Path, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.monotonic()
        subprocess.run(
            [sys.executable, "-m", "harness", "run", "-q", "--protocol", protocol, str(server), "{port}"],
            check=True, stdout=subprocess.DEVNULL,
        )
        times.append(time.monotonic() - started)
    return times


def readiness(repeat: int) -> tuple[list[float], list[float]]:
    lags, startups = [], []
    for _ in range(repeat):
        instance = ServerProcess(ServerSpec(argv=(sys.executable, "-c", LISTEN_STAMP, "{port}")))
        spawned = time.monotonic()
        instance.start()
        noticed = time.monotonic()
        deadline = time.monotonic() + 2
        listened = None
        while listened is None and time.monotonic() < deadline:
            text = (instance.workdir / "server.stdout").read_text()
            if "LISTEN" in text:
                listened = float(text.split()[1])
            else:
                time.sleep(0.005)
        instance.stop()
        if listened is not None:
            lags.append(noticed - listened)
            startups.append(listened - spawned)
    return lags, startups


def describe(name: str, values: list[float]) -> str:
    return f"{name:<38} median {statistics.median(values) * 1000:8.1f} ms   (min {min(values) * 1000:.1f}, max {max(values) * 1000:.1f}, n={len(values)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    lags, startups = readiness(args.repeat)
    print(describe("server start-up (spawn to listen)", startups))
    print(describe("readiness latency (listen to noticed)", lags))
    print(describe("time-to-verdict tcp-echo reference", time_to_verdict("tcp-echo", reference_server("tcp_echo"), args.repeat)))
    print(describe("time-to-verdict udp-echo reference", time_to_verdict("udp-echo", reference_server("udp_echo"), args.repeat)))


if __name__ == "__main__":
    main()
