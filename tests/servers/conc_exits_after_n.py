"""BUGGY: accepts a fixed number of clients (argv[2], default 20), each in its
own thread, then leaves its accept loop and exits with code 0 — the
`for i in range(N): accept()` loop of an exercise that said "serve 20
clients". The crowd of 50 finds the port closed halfway."""
import socket
import sys
import threading


def handle(conn):
    with conn:
        while data := conn.recv(65536):
            conn.sendall(data)


sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen(128)
threads = []
for _ in range(int(sys.argv[2]) if len(sys.argv) > 2 else 20):
    conn, _ = sk.accept()
    thread = threading.Thread(target=handle, args=(conn,))
    thread.start()
    threads.append(thread)
sk.close()
for thread in threads:
    thread.join(timeout=5)
