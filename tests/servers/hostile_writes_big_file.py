"""HOSTILE: writes a big file into its working directory before it listens.

Bounded by design: stops at 256 MiB.
"""
with open("big.bin", "wb") as f:
    for _ in range(256):
        f.write(b"\0" * (1 << 20))
        f.flush()
