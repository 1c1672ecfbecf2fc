"""Benchmark (not a test): do the suites derived from a protocol file cost no
more than twice the echo suites?

    python benchmarks/bench_protocol_file.py [--repeat 3]

Times `harness run` (every suite that applies) on the key-value reference with
examples/protocols/kv/kv.toml against `harness run` on the tcp-echo reference
(--protocol tcp-echo), alternating the two so machine load hits both alike,
and prints the median wall times and their ratio (target: at most 2x).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = {
    "echo (tcp-echo reference)": ["--protocol", "tcp-echo", str(ROOT / "reference_servers" / "tcp_echo.py"), "{port}"],
    "kv.toml (kv reference)": ["--protocol", str(ROOT / "examples" / "protocols" / "kv" / "kv.toml"),
                               str(ROOT / "examples" / "protocols" / "kv" / "kv_server.py"), "{port}"],
}


def timed(args: list[str]) -> float:
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "harness", "run", "-q", *args], capture_output=True, text=True,
                            timeout=600)
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        raise SystemExit(f"harness run {' '.join(args)} exited {result.returncode}:\n{result.stdout}{result.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in RUNS}
    for _ in range(max(1, options.repeat)):
        for name, args in RUNS.items():
            times[name].append(timed(args))
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, values in times.items():
        print(f"{name:<28} median {medians[name]:6.2f} s  ({', '.join(f'{v:.2f}' for v in values)})")
    echo, kv = medians.values()
    print(f"ratio kv / echo: {kv / echo:.2f} (target: at most 2)")


if __name__ == "__main__":
    main()
