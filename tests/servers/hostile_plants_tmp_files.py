"""HOSTILE (temporaries, memory): leaves files named after its token in /tmp,
/var/tmp and /dev/shm, and tries to hold up to 128 MiB in /dev/shm (memory a
per-process limit does not count); reports how much it held. If it held all
128 MiB it exits (so the run shows it); otherwise it serves echo on {port}
like a correct server."""
import os, socket, sys, threading
token = sys.argv[2]
held = 0
for folder in ("/tmp", "/var/tmp", "/dev/shm"):
    try:
        with open(os.path.join(folder, f"left-{token}"), "w") as f:
            f.write("left behind\n")
    except OSError as error:
        print(f"could not write {folder}: {error}", file=sys.stderr)
try:  # files of 8 MiB each: a per-file size limit does not stop it
    for part in range(16):
        with open(f"/dev/shm/big-{token}-{part}", "wb") as f:
            for _ in range(8):
                f.write(b"\0" * (1 << 20))
                f.flush()
                held += 1
except OSError as error:
    print(f"shm stopped: {error}", file=sys.stderr)
print(f"HELD {held} MiB", file=sys.stderr, flush=True)
if held >= 128:
    sys.exit(1)
sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen()
def handle(conn):
    with conn:
        while data := conn.recv(65536):
            conn.sendall(data)
while True:
    conn, _ = sk.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
