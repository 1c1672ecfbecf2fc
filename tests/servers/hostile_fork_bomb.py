"""HOSTILE: forks until fork fails, before it ever listens.

Bounded by design even without the harness's process limit: at most 150
children, each only sleeps (no child forks again) and exits after 60 s.
"""
import os, sys, time

children = 0
try:
    while children < 150:
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
        children += 1
except OSError as error:
    print(f"fork failed after {children} children: {error!r}", file=sys.stderr, flush=True)
    raise
print(f"forked {children} children without hitting any limit", file=sys.stderr, flush=True)
time.sleep(60)
