"""HOSTILE (greedy, blind 14): a server about to fork a crowd of spinners, each in a
session of its own, first looks at which cgroups it is in: one CPU group for the
whole instance is what keeps that crowd to one share of the CPU. Prints
`CGROUPS {json}` on stderr, then exits before listening."""
import json, sys
with open("/proc/self/cgroup") as f:
    lines = [line.strip().split(":", 2) for line in f if line.strip()]
print("CGROUPS " + json.dumps({controllers: path for _, controllers, path in lines}), file=sys.stderr, flush=True)
sys.exit(1)
