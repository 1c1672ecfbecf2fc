"""Fixed twin of tests/servers/seed_001_tcp_hello.py, for the benchmark only.

The seed's unframed greeting server with its time.sleep(2) before each reply
kept, and its mistakes fixed: it reads up to 64 KiB at once (a 4,000-byte
name is one reply), sends with sendall() and sets SO_REUSEADDR. Run it as the
seed is run: --hello-mode unframed --reply-timeout 5."""

import socket
import sys
import threading
import time


def serve(conn: socket.socket) -> None:
    with conn:
        conn.sendall(b"Welcome")
        while True:
            try:
                data = conn.recv(65536)
            except ConnectionError:
                return
            time.sleep(2)
            if not data or data == b"exit":
                return
            try:
                conn.sendall(b"Hello, " + data + b"!")
            except ConnectionError:
                return


listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listen(128)
try:
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()
except KeyboardInterrupt:
    pass
