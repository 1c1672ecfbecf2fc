"""Correct tcp-framed server in the seeds' style: the length header and the
body are written with two sendall() calls (seed 002 sends `struct.pack` and
then the data). Nagle holds the body until the header is ACKed, so a client
that delays its ACKs waits 40 ms per reply; the harness ACKs at once."""

import socket
import struct
import sys
import threading


def recv_exactly(conn: socket.socket, size: int) -> bytes:
    data = conn.recv(size, socket.MSG_WAITALL) if size else b""
    if len(data) < size:
        raise EOFError
    return data


def serve(conn: socket.socket) -> None:
    with conn:
        try:
            while True:
                (length,) = struct.unpack("!I", recv_exactly(conn, 4))
                body = recv_exactly(conn, length)
                conn.sendall(struct.pack("!I", length))
                conn.sendall(body)
        except (EOFError, ConnectionError):
            pass


listener = socket.create_server(("127.0.0.1", int(sys.argv[1])))
try:
    while True:
        client, _ = listener.accept()
        threading.Thread(target=serve, args=(client,), daemon=True).start()
except KeyboardInterrupt:
    pass
