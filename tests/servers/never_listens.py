"""Starts, prints, and never opens a socket."""
import time
print("starting up...", flush=True)
time.sleep(60)
