"""HOSTILE (memory, issue #12 attack 7): fills anonymous memory files (memfd,
never mapped, so no per-process limit counts them) with up to 600 MiB in
16 MiB writes, 32 MiB per file (under the file size limit), stopping at the
first error; prints how much it holds after each write. If it held it all it
exits (so the run shows it); otherwise it serves echo on {port} like a
correct server."""
import os, socket, sys, threading
held, files = 0, []
try:
    while held < 600:
        fd = os.memfd_create("hoard")
        files.append(fd)
        for _ in range(2):
            os.write(fd, b"\1" * (16 << 20))
            held += 16
            print(f"MEMFD HELD {held} MiB", file=sys.stderr, flush=True)
except OSError as error:
    print(f"memfd stopped: {error}", file=sys.stderr, flush=True)
if held >= 600:
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
