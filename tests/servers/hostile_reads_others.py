"""HOSTILE (confidentiality): tries to read the files named in its arguments
(another submission, the assignment, a root-only file), its parent's command
line, and to list /tmp; reports what it got, then exits before listening."""
import json, os, sys
got = {}
for path in sys.argv[1:]:
    try:
        with open(path, "rb") as f:
            got[path] = f.read(200).decode(errors="replace")
    except OSError as error:
        got[path] = f"DENIED {error.strerror}"
try:
    with open(f"/proc/{os.getppid()}/cmdline", "rb") as f:
        parent = f.read().decode(errors="replace")
    got["parent_mentions"] = [word for word in ("--json", "--config", "--harness-json") if word in parent]
except OSError as error:
    got["parent_mentions"] = f"DENIED {error.strerror}"
try:
    got["tmp"] = sorted(os.listdir("/tmp"))[:50]
except OSError as error:
    got["tmp"] = f"DENIED {error.strerror}"
print("GOT " + json.dumps(got), file=sys.stderr, flush=True)
sys.exit(1)
