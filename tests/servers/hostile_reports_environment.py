"""HOSTILE (nosy): prints what it can see — network interfaces, routes, uid, cwd,
limits, its whole environment — as one JSON line on stderr, then exits 1 before listening, so the
harness's report carries that line. Sends nothing anywhere."""
import json, os, resource, sys

def interfaces():
    with open("/proc/net/dev") as f:
        return [line.split(":", 1)[0].strip() for line in f.read().splitlines()[2:] if ":" in line]

def routes():
    with open("/proc/net/route") as f:
        return f.read().splitlines()[1:]

limits = {name: resource.getrlimit(getattr(resource, name))[0]
          for name in ("RLIMIT_CPU", "RLIMIT_AS", "RLIMIT_DATA", "RLIMIT_NOFILE", "RLIMIT_NPROC", "RLIMIT_FSIZE", "RLIMIT_CORE")}
seen = {"interfaces": interfaces(), "routes": routes(), "uid": os.getuid(), "euid": os.geteuid(),
        "cwd": os.getcwd(), "script": os.path.abspath(__file__), "limits": limits,
        "cwd_has_script": os.path.basename(__file__) in os.listdir("."), "env": dict(os.environ)}
print("SEEN " + json.dumps(seen), file=sys.stderr, flush=True)
sys.exit(1)
