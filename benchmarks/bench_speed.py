"""Benchmark (not a test): how stable the speed suite's figures are, and whether
the load generator outruns a Python reference server.

    python benchmarks/bench_speed.py [--runs 5] [--headroom]

- stability: `harness run --suite speed` against each bundled reference
  server `--runs` times; for every figure, the mean and the spread of the
  runs around it (largest deviation from the mean, in %). The issue asks for
  ratios stable within ±20 %.
- headroom (`--headroom`): the generator's own CPU share while it loads the
  Python reference (well below one core means the server, not the
  generator, was the limit), and the same generator against socat's C echo
  (`socat TCP-LISTEN:...,fork PIPE`) and against a C epoll echo
  (`epoll_echo.c`, built if a C compiler is there), which shows what the
  generator can drive when the server is fast. The generator runs on a CPU
  of its own and the server on the others, as in the speed suite.
Only loopback traffic; bounded runs.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from harness.clients import loadgen
from harness.server.command import reference_server
from harness.server.launcher import ServerProcess, ServerSpec
from harness.system import affinity

TARGETS = [("tcp-echo", "tcp_echo"), ("tcp-framed", "tcp_framed"), ("udp-echo", "udp_echo")]
KEYS = ("ratio", "mb_s", "reference_mb_s", "p50_ms", "p99_ms", "reference_p50_ms", "top_load_reply_rate",
        "reference_top_load_reply_rate", "generator_cpu_share")


def run_once(protocol: str, server: Path, report: Path) -> dict[str, dict]:
    subprocess.run([sys.executable, "-m", "harness", "run", "--protocol", protocol, "--suite", "speed",
                    "--json", str(report), "-q", str(server), "{port}"], check=False, capture_output=True, timeout=300)
    data = json.loads(report.read_text())
    return {c["id"]: c.get("figures", {}) for c in data["checks"]}


def stability(runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for protocol, name in TARGETS:
            path = reference_server(name)
            if not path.exists():
                print(f"{protocol}: no reference server, skipped")
                continue
            results = [run_once(protocol, path, Path(tmp) / f"{name}-{i}.json") for i in range(runs)]
            print(f"\n{protocol} ({runs} runs of the reference against itself)")
            for check_id in results[0]:
                for key in KEYS:
                    values = [r[check_id][key] for r in results if key in r.get(check_id, {})]
                    if len(values) != runs:
                        continue
                    mean = statistics.fmean(values)
                    spread = max(abs(v - mean) for v in values) / mean * 100 if mean else 0.0
                    shown = ", ".join(f"{v:,.3g}" for v in values)
                    print(f"  {check_id:<28} {key:<26} mean {mean:>10,.3f}  ±{spread:4.1f}%   [{shown}]")


def shares(server: ServerProcess, measure: Callable[[], Any]) -> tuple[Any, float]:
    """Run `measure` placed as the speed suite places it (generator on its own
    CPU); the result and the server's CPU share over the same wall time (its
    whole tree, one core = 100 %)."""
    with affinity.generator_apart([server.pids]):
        cpu_before, started = server.probe.cpu_seconds(server.pids()), time.monotonic()
        result = measure()
        share = (server.probe.cpu_seconds(server.pids()) - cpu_before) / (time.monotonic() - started)
    return result, share


def headroom() -> None:
    """Who is the limit: a generator well below 100 % while the server is near
    100 % of its CPU(s) means the server was."""
    python_echo = ServerProcess(ServerSpec(argv=(sys.executable, "-u", str(reference_server("tcp_echo")), "{port}")))
    endpoint = python_echo.start()
    try:
        t, ts = shares(python_echo, lambda: loadgen.tcp_throughput(endpoint, b"x" * (1 << 20), 1.0, 0.2, 2.0))
        l50, ls = shares(python_echo, lambda: loadgen.tcp_latency(endpoint, b"y" * 32, 50, 1.0, 0.2, 2.0))
        print(f"\nPython reference tcp_echo: {t.mb_s:,.0f} MB/s (generator CPU {t.cpu_share:.0%}, server {ts:.0%}); "
              f"50 clients {l50.round_trips_s:,.0f} round trips/s (generator CPU {l50.cpu_share:.0%}, "
              f"server {ls:.0%})")
    finally:
        python_echo.stop()
    udp = ServerProcess(ServerSpec(argv=(sys.executable, "-u", str(reference_server("udp_echo")), "{port}"),
                                   transport="udp"))
    endpoint = udp.start()
    try:
        step, us = shares(udp, lambda: loadgen.udp_rate(endpoint, 150_000, 1.0))
        print(f"Python reference udp_echo at 150,000/s offered: sent {step.send_rate:,.0f}/s, "
              f"answered {step.reply_rate:,.0f}/s, loss {step.loss:.1%} (generator CPU {step.cpu_seconds:.0%}, "
              f"server {us:.0%})")
    finally:
        udp.stop()
    epoll_echo(shares)
    socat = shutil.which("socat")
    if not socat:
        print("socat not installed: no C echo to compare with")
        return
    c_echo = ServerProcess(ServerSpec(argv=(socat, "TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork", "PIPE")))
    endpoint = c_echo.start()
    try:
        t, ts = shares(c_echo, lambda: loadgen.tcp_throughput(endpoint, b"x" * (1 << 20), 1.0, 0.2, 2.0))
        l1, l1s = shares(c_echo, lambda: loadgen.tcp_latency(endpoint, b"y" * 32, 1, 1.0, 0.2, 2.0))
        l50, l50s = shares(c_echo, lambda: loadgen.tcp_latency(endpoint, b"y" * 32, 50, 1.0, 0.2, 2.0))
        print(f"socat (C) echo: {t.mb_s:,.0f} MB/s (generator CPU {t.cpu_share:.0%}, server {ts:.0%}); "
              f"1 client {l1.round_trips_s:,.0f} round trips/s (generator CPU {l1.cpu_share:.0%}, server {l1s:.0%}); "
              f"50 clients {l50.round_trips_s:,.0f} round trips/s (generator CPU {l50.cpu_share:.0%}, "
              f"server {l50s:.0%})")
    finally:
        c_echo.stop()


def epoll_echo(shares: Callable) -> None:
    """The generator's own limit: 50 clients against a C epoll echo (built with cc if there is one)."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        print("no C compiler: the generator's own limit is not measured")
        return
    with tempfile.TemporaryDirectory() as tmp:
        binary = Path(tmp) / "epoll_echo"
        subprocess.run([cc, "-O2", "-o", str(binary), str(Path(__file__).with_name("epoll_echo.c"))], check=True)
        server = ServerProcess(ServerSpec(argv=(str(binary), "{port}")))
        endpoint = server.start()
        try:
            l50, share = shares(server, lambda: loadgen.tcp_latency(endpoint, b"y" * 32, 50, 1.0, 0.2, 2.0))
            print(f"C epoll echo: 50 clients {l50.round_trips_s:,.0f} round trips/s "
                  f"(generator CPU {l50.cpu_share:.0%}, server {share:.0%})")
        finally:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--headroom", action="store_true")
    args = parser.parse_args()
    if args.headroom:
        headroom()
    stability(max(1, min(args.runs, 20)))


if __name__ == "__main__":
    main()
