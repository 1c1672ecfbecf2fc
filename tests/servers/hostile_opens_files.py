"""HOSTILE: opens files until it cannot, before it listens. Bounded by design: at most 5000."""
import sys

held = []
for _ in range(5000):
    held.append(open("/dev/null"))
print(f"opened {len(held)} files without hitting any limit", file=sys.stderr, flush=True)
