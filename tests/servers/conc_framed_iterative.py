"""BUGGY (tcp-framed, seed style): correct frames, but one client at a time —
the frame loop is nested in the accept() loop."""
import socket, struct, sys

def recv_exactly(conn, size):
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data

sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen(5)
while True:
    conn, addr = sk.accept()
    try:
        while True:
            (length,) = struct.unpack("!I", recv_exactly(conn, 4))
            conn.sendall(struct.pack("!I", length) + recv_exactly(conn, length))
    except ConnectionError:
        pass
    conn.close()
