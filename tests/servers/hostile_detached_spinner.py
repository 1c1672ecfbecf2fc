"""HOSTILE: a correct echo server whose "background worker" hides from the
harness: before the server listens, the worker double-forks, calls setsid and
re-executes itself with an EMPTY environment, so it is in neither the server's
parent chain nor its session, and carries no token. Then it spins, and no
signal sent to the server's process group reaches it. It must still count as
the server's: concurrency::idle_without_busy_loop and the idle shutdown checks
fail. Bounded by design: the worker stops on its own after 30 s."""
import os, socket, sys, threading, time

if len(sys.argv) > 2 and sys.argv[2] == "worker":
    end = time.monotonic() + 30
    while time.monotonic() < end:
        pass
    sys.exit(0)

if os.fork() == 0:
    os.setsid()
    if os.fork():
        os._exit(0)
    os.execve(sys.executable, [sys.executable, os.path.abspath(__file__), "0", "worker"], {})
os.wait()

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
