"""Benchmark (not a test): what confining an untrusted server costs.

    python benchmarks/bench_isolation.py [--repeat 30]

- namespace entry: a fresh process entering its private network namespace
  (unshare + loopback up), once per run or per xdist worker.
- server start, median: spawn to "ready" of the reference TCP echo server,
  (a) plain, (b) with the sandbox (limits, unprivileged uid when root, scratch
  copy of its folder), (c) with the sandbox inside a private namespace.
  Wall time of `ServerProcess.start()` including the scratch copy.
Only loopback traffic; bounded repeats.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

SCRIPT = r"""
import statistics, sys, time
from harness.system import isolation
from harness.server.command import reference_server
from harness.server.launcher import ServerProcess, ServerSpec
from harness.system.sandbox import Sandbox

mode, repeat = sys.argv[1], int(sys.argv[2])
entered = None
if mode == "isolated":
    t = time.perf_counter(); isolation.enter(); entered = time.perf_counter() - t
sandbox = None if mode == "plain" else Sandbox()
argv = (sys.executable, "-u", str(reference_server("tcp_echo")), "{port}")
times = []
for _ in range(repeat):
    server = ServerProcess(ServerSpec(argv=argv, sandbox=sandbox))
    t = time.perf_counter()
    server.start()
    times.append(time.perf_counter() - t)
    server.stop()
print(" ".join(map(str, times)), "|", entered)
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    samples: dict[str, list[float]] = {"plain": [], "sandboxed": [], "isolated": []}
    entries: list[float] = []
    rounds = 5  # interleaved, so that a load change on the machine hits every mode alike
    for _ in range(rounds):
        for mode in samples:
            out = subprocess.run([sys.executable, "-c", SCRIPT, mode, str(max(1, args.repeat // rounds))], check=True,
                                 capture_output=True, text=True).stdout
            times, _, entered = out.partition("|")
            samples[mode] += [float(t) for t in times.split()]
            if entered.strip() != "None":
                entries.append(float(entered))
    for mode, times in samples.items():
        print(f"{mode:>10}: server start median {statistics.median(times) * 1000:.1f} ms over {len(times)}")
    print(f"namespace entry (unshare + loopback up), median: {statistics.median(entries) * 1000:.2f} ms")
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "from harness.system import isolation; isolation.enter()"], check=True)
    print(f"a fresh interpreter that enters a namespace: {(time.perf_counter() - started) * 1000:.0f} ms wall")


if __name__ == "__main__":
    main()
