"""HOSTILE: busy-loops before it listens. Bounded by design: gives up after 30 s of wall time."""
import time

end = time.monotonic() + 30
while time.monotonic() < end:
    pass
