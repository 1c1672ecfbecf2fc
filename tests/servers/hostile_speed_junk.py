"""HOSTILE (blind 16): echoes correctly, except to the speed suite's load generator (its messages start with
bytes(range(256))): that connection gets junk streamed at it, without waiting for requests, while what it
sends is read and thrown away. The old generator counted any byte that came back as throughput."""
import socket
import sys
import threading

JUNK = b"\xee" * (1 << 20)
GENERATOR = bytes(range(16))


def blast(conn):
    def discard():
        try:
            while conn.recv(1 << 20):
                pass
        except OSError:
            pass

    threading.Thread(target=discard, daemon=True).start()
    try:
        while True:
            conn.sendall(JUNK)
    except OSError:
        pass


def serve(conn):
    with conn:
        try:
            first = conn.recv(16, socket.MSG_PEEK)
            if first == GENERATOR:
                return blast(conn)
            while data := conn.recv(65536):
                conn.sendall(data)
        except OSError:
            pass


listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listen(64)
while True:
    conn, _ = listener.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
