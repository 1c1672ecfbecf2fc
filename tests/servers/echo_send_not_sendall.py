"""BUGGY: echoes with send() instead of sendall() on a small send buffer: when
send() takes only part of its buffer the rest is lost, so the echo skips bytes
in the middle and goes on."""
import socket
import sys
import threading


def handle(conn):
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    conn.settimeout(5)  # a timeout makes send() return after a partial write
    with conn:
        while True:
            data = conn.recv(1 << 20)
            if not data:
                return
            conn.send(data)  # BUG: returns how many bytes it took; the rest is dropped


listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listen(64)
while True:
    conn, _ = listener.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
