"""HOSTILE (nosy): an echo server that first prints, as one `IDENTITY {json}` line on stderr,
everything it can read of who and where it is — its environment, argv, cwd, hostname, its
own and PID 1's command lines, its cgroup, where its output goes, its mounts — to find
something that tells one instance (so one check) from another. Then echoes in capitals
and ignores SIGINT and SIGTERM, so that every echo and shutdown check fails and the report shows each instance's line (the output of passed checks is not
kept). The line is kept short (the report keeps an output's last 2000 bytes)."""
import json, os, signal, socket, sys, threading

def read(path, limit=20000):
    try:
        with open(path, "rb") as f:
            return f.read(limit).replace(b"\0", b" ").decode(errors="replace")
    except OSError as error:
        return f"unreadable: {error.strerror}"

def link(path):
    try:
        return os.readlink(path)
    except OSError as error:
        return f"unreadable: {error.strerror}"

def command_line(pid):
    """A process's arguments, a long one (the sandbox init's code) by its length only."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            args = f.read(20000).decode(errors="replace").split("\0")
    except OSError as error:
        return f"unreadable: {error.strerror}"
    return [arg if len(arg) < 200 else f"<{len(arg)} chars>" for arg in args]

def ours(text):
    return [line for line in text.splitlines() if "harness" in line or "server-" in line]

seen = {"uid": os.getuid(), "env": dict(os.environ), "argv": sys.argv, "cwd": os.getcwd(), "hostname": socket.gethostname(),
        "pid1_cmdline": command_line(1), "self_cmdline": command_line("self"),
        "parent_cmdline": "pid 1" if os.getppid() == 1 else command_line(os.getppid()), "cgroup": read("/proc/self/cgroup"),
        "stdout": link("/proc/self/fd/1"), "stderr": link("/proc/self/fd/2"),
        "mounts": [" ".join(line.split()[3:5]) for line in ours(read("/proc/self/mountinfo"))]}
print("IDENTITY " + json.dumps(seen, separators=(",", ":")), file=sys.stderr, flush=True)

def serve(connection):
    with connection:
        try:
            while data := connection.recv(4096):
                connection.sendall(data.upper())
        except OSError:
            pass

signal.signal(signal.SIGTERM, signal.SIG_IGN)
signal.signal(signal.SIGINT, signal.SIG_IGN)
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listen(64)
while True:
    connection, _ = listener.accept()
    threading.Thread(target=serve, args=(connection,), daemon=True).start()
