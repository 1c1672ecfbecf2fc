"""BUGGY: starts a helper that double-forks away (setsid, its parent exits),
so it is re-parented and in another session: no shutdown of the server ever
reaches it. The echo server itself exits cleanly on SIGINT and SIGTERM."""
import os, signal, socket, sys, threading, time

if os.fork() == 0:  # the helper: fork, setsid, fork again, parent exits
    os.setsid()
    if os.fork():
        os._exit(0)
    while True:
        time.sleep(1)  # "background work" that nobody stops
os.wait()  # the first child exits at once; its child lives on

signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))


def handle(conn):
    with conn:
        while data := conn.recv(65536):
            conn.sendall(data)


sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen()
try:
    while True:
        conn, _ = sk.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()
except KeyboardInterrupt:
    pass
