"""HOSTILE: allocates memory 32 MiB at a time before it listens.

Bounded by design: stops at 3 GiB even if nothing stops it first, then sleeps.
"""
import sys, time

hoard = []
for _ in range(96):  # 96 x 32 MiB = 3 GiB
    hoard.append(bytearray(32 << 20))
print(f"allocated {len(hoard) * 32} MiB without hitting any limit", file=sys.stderr, flush=True)
time.sleep(60)
