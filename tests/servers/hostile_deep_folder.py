"""HOSTILE (cleanup): builds a folder 3000 levels deep in its working directory
(a recursive cleanup would raise RecursionError), then exits before listening."""
import os, sys
start = os.getcwd()
for _ in range(3000):
    os.mkdir("d")
    os.chdir("d")
os.chdir(start)
print("deep folder made", file=sys.stderr, flush=True)
sys.exit(1)
