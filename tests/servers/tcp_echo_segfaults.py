"""BUGGY: echoes, but the whole process is killed by SIGSEGV (as a C server with a
bad pointer is) when a message contains a zero byte. A crash by a signal is the
news of the check it happens in: the failure must lead with it."""

import ctypes
import socket
import sys
import threading


def handle(conn: socket.socket) -> None:
    with conn:
        while data := conn.recv(65536):
            if b"\x00" in data:
                ctypes.string_at(0)  # reads address 0: a real segmentation fault, as in C
            conn.sendall(data)


listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listen(16)
while True:
    conn, _ = listener.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
