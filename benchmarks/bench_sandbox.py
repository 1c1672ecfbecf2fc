"""Benchmark (not a test): what the bubblewrap sandbox costs (issue #12).

    python benchmarks/bench_sandbox.py [--runs 5] [--starts 20]

- full run, median: `harness run reference_servers/tcp_echo.py {port}` (every
  suite that applies), sandboxed vs the fallback (`--no-bwrap`), interleaved
  so that a change of load on the machine hits both alike. The goal: the
  sandboxed run within +20 % of the fallback's.
- server start, median: `ServerProcess.start()` to "ready" of the reference
  TCP echo server in a private network namespace, with the fallback sandbox
  (limits, uid, scratch copy) and with bubblewrap on top.
Only loopback traffic; bounded repeats.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

STARTS = r"""
import sys, time
from harness.system import isolation
from harness.server.command import reference_server
from harness.server.launcher import ServerProcess, ServerSpec
from harness.system.sandbox import Sandbox

use_bwrap, repeat = sys.argv[1] == "bwrap", int(sys.argv[2])
isolation.enter()
sandbox = Sandbox(use_bwrap=use_bwrap)
argv = (sys.executable, "-u", str(reference_server("tcp_echo")), "{port}")
times = []
for _ in range(repeat):
    server = ServerProcess(ServerSpec(argv=argv, sandbox=sandbox))
    t = time.perf_counter()
    server.start()
    times.append(time.perf_counter() - t)
    server.stop()
print(" ".join(map(str, times)))
"""


def full_run(sandboxed: bool) -> float:
    command = [sys.executable, "-m", "harness", "run", "-q", *([] if sandboxed else ["--no-bwrap"]),
               str(ROOT / "reference_servers" / "tcp_echo.py"), "{port}"]
    started = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True, cwd="/tmp", timeout=600)
    if completed.returncode != 0:
        raise SystemExit(f"the reference server's run failed:\n{completed.stdout}{completed.stderr}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5, help="full runs per mode")
    parser.add_argument("--starts", type=int, default=20, help="server starts per mode")
    args = parser.parse_args()
    runs: dict[str, list[float]] = {"fallback": [], "sandboxed": []}
    for _ in range(args.runs):
        for mode in runs:
            runs[mode].append(full_run(mode == "sandboxed"))
    starts: dict[str, list[float]] = {"fallback": [], "bwrap": []}
    rounds = 4
    for _ in range(rounds):
        for mode in starts:
            out = subprocess.run([sys.executable, "-c", STARTS, mode, str(max(1, args.starts // rounds))],
                                 check=True, capture_output=True, text=True).stdout
            starts[mode] += [float(t) for t in out.split()]
    base, boxed = statistics.median(runs["fallback"]), statistics.median(runs["sandboxed"])
    print(f"full run of the reference TCP echo server, median of {args.runs}:")
    print(f"  fallback   {base:6.2f} s   (all: {', '.join(f'{t:.2f}' for t in runs['fallback'])})")
    print(f"  sandboxed  {boxed:6.2f} s   (all: {', '.join(f'{t:.2f}' for t in runs['sandboxed'])})")
    print(f"  cost       {100 * (boxed / base - 1):+5.1f} %  (goal: at most +20 %)")
    print(f"server start to ready, median of {len(starts['fallback'])}:")
    for mode, label in (("fallback", "fallback "), ("bwrap", "sandboxed")):
        print(f"  {label}  {1000 * statistics.median(starts[mode]):6.1f} ms")


if __name__ == "__main__":
    main()
