"""BUGGY: a zero-length frame is skipped, not answered (`if not payload: continue`).

Correct otherwise (recv-exactly loops, a thread per client). A client that sends an
empty frame waits for an answer that never comes; the connection stays open.
"""
import socket, struct, sys, threading

def recv_exactly(conn, size):
    data = b""
    while len(data) < size:
        chunk = conn.recv(min(size - len(data), 65536))
        if not chunk:
            raise EOFError
        data += chunk
    return data

def handle(conn):
    with conn:
        try:
            while True:
                (length,) = struct.unpack("!I", recv_exactly(conn, 4))
                payload = recv_exactly(conn, length)
                if not payload:
                    continue
                conn.sendall(struct.pack("!I", len(payload)) + payload)
        except (EOFError, OSError):
            pass

sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen()
while True:
    conn, _ = sk.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
