"""HOSTILE (confidentiality): a classmate's server run beside this one learns
its folder from /proc (the fallback shows every command line), so this one
tries what such a server would: read the harness's captures of an instance's
output (`../server.stdout`, `../server.stderr`: what a student's server
printed, and which check ran) and see whether its own copy is open to others.
Reports what it got, then exits before listening."""
import json, os, stat, sys
got = {"copy_mode": oct(stat.S_IMODE(os.stat(".").st_mode))}
for name in ("../server.stdout", "../server.stderr"):
    try:
        with open(name, "rb") as f:
            got[name] = "READ " + f.read(200).decode(errors="replace")
    except OSError as error:
        got[name] = f"DENIED {error.strerror}"
print("GOT " + json.dumps(got), file=sys.stderr, flush=True)
sys.exit(1)
