"""BUG: serves one client at a time (no thread per client); its framing ('!H') is right."""
import socket
import struct
import sys

FORMAT = "!H"


def recv_exactly(conn, size):
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def handle(conn):
    with conn:
        while True:
            header = recv_exactly(conn, 2)
            payload = None if header is None else recv_exactly(conn, struct.unpack(FORMAT, header)[0])
            if payload is None:
                return
            conn.sendall(struct.pack(FORMAT, len(payload)) + payload)


listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listen(64)
while True:
    conn, _ = listener.accept()
    handle(conn)  # BUG: the next client waits until this one leaves
