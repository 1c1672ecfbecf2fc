"""BUGGY (blind 19, Twisted's LineReceiver with its default MAX_LENGTH): a line-mode hello server that
closes the connection on a line longer than 16,384 bytes (conversation::long_name)."""
import socket
import sys
import threading

MAX_LENGTH = 16384


def serve(conn: socket.socket) -> None:
    with conn, conn.makefile("rb") as lines:
        conn.sendall(b"Welcome!\n")
        while line := lines.readline(MAX_LENGTH + 1):
            if not line.endswith(b"\n"):
                return  # BUG: the protocol allows longer lines
            name = line.rstrip(b"\r\n")
            if name == b"exit":
                return
            conn.sendall(b"Hello, " + name + b"!\n")


listener = socket.create_server(("127.0.0.1", int(sys.argv[1])))
while True:
    conn, _ = listener.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
