"""The wire log's cost: the reference tcp-echo server's full run, before and after.

    python benchmarks/bench_wirelog.py [--before REF] [--runs N]

"Before" is the harness at git revision REF (default: the commit before the
wire log was added), checked out into a temporary worktree; "after" is this
tree. Each run is a whole `harness run reference_servers/tcp_echo.py {port}`
(every suite that applies, default options), timed from the outside; the two
trees alternate so that a machine's changing load hits both alike. Prints
the median of each, their difference, and the median of the back-to-back
pairs' ratios (less at the mercy of a shared machine's load).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The last commit without the wire log.
BEFORE = "d3dbb6a"


def one_run(tree: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    with tempfile.TemporaryDirectory(prefix="bench-wirelog-") as folder:
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-c", RUNNER, str(tree), str(tree / "reference_servers" / "tcp_echo.py")],
                              cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        elapsed = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"the run in {tree} failed ({done.returncode}):\n{done.stdout[-3000:]}")
    return elapsed


#: Runs `harness run` from TREE with harness.suites / harness.reference_servers taken from TREE too.
RUNNER = """
import sys, harness
tree = sys.argv[1]
harness.__path__.insert(0, tree + "/harness")
assert harness.__file__.startswith(tree), (harness.__file__, tree)
import importlib.util
for name, folder in (("harness.suites", "suites"), ("harness.reference_servers", "reference_servers")):
    spec = importlib.util.spec_from_file_location(name, f"{tree}/{folder}/__init__.py",
                                                  submodule_search_locations=[f"{tree}/{folder}"])
    module = importlib.util.module_from_spec(spec); sys.modules[name] = module; spec.loader.exec_module(module)
    setattr(harness, name.split(".")[1], module)
from harness.cli.main import main
raise SystemExit(main(["run", "-q", sys.argv[2], "{port}"]))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=BEFORE, help=f"git revision of the 'before' tree (default {BEFORE})")
    parser.add_argument("--runs", type=int, default=7, help="runs of each tree (default 7; at least 5)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-wirelog-before-") as folder:
        before = Path(folder) / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(before), args.before], check=True)
        try:
            times: dict[str, list[float]] = {"before": [], "after": []}
            one_run(before), one_run(ROOT)  # warm-up: caches, .pyc files
            for index in range(max(5, args.runs)):
                order = (("before", before), ("after", ROOT)) if index % 2 == 0 else (("after", ROOT), ("before", before))
                for name, tree in order:
                    times[name].append(one_run(tree))
                print(f"run {index + 1}: before {times['before'][-1]:.2f} s, after {times['after'][-1]:.2f} s",
                      flush=True)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(before)], check=False)
    low, high = statistics.median(times["before"]), statistics.median(times["after"])
    # Each pair ran back to back: the median of the pairs' ratios is less at the mercy of the machine's load.
    paired = statistics.median(a / b for a, b in zip(times["after"], times["before"]))
    print(f"reference tcp-echo, full run, median of {len(times['after'])}: before ({args.before}) {low:.2f} s, "
          f"after {high:.2f} s, {100 * (high - low) / low:+.1f} %; median of the paired ratios "
          f"{100 * (paired - 1):+.1f} %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
