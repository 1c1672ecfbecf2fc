"""HOSTILE (setuid): its folder ships a setuid/setgid program; it reports the
mode bits its copy kept and the effective uid that program gets, then exits."""
import json, os, subprocess, sys
here = os.path.dirname(os.path.abspath(__file__))
program = os.path.join(here, "suid_id")
bits = os.stat(program).st_mode & 0o6000
try:
    euid = subprocess.run([program, "-u"], capture_output=True, text=True, timeout=10).stdout.strip()
except OSError as error:
    euid = f"error {error}"
print("SUID " + json.dumps({"bits": bits, "euid": euid, "uid": os.getuid()}), file=sys.stderr, flush=True)
sys.exit(1)
