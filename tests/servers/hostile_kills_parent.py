"""HOSTILE: tries to SIGKILL its parent (the harness), then serves echo.
Only ever signals its parent: never a group, never `kill(-1)`."""
import os, signal, socket, sys, threading

parent = os.getppid()
try:
    os.kill(parent, signal.SIGKILL)
    print(f"killed {parent}", file=sys.stderr, flush=True)
except OSError as error:
    print(f"could not kill {parent}: {error!r}", file=sys.stderr, flush=True)

def handle(conn):
    with conn:
        while data := conn.recv(65536):
            conn.sendall(data)

sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen()
while True:
    conn, _ = sk.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
