"""BUGGY: frames above 64 KiB are truncated.

It keeps at most 64 KiB of a payload (a fixed-size buffer), skips the rest
to stay in step with the stream, and answers with the truncated frame.
Correct for every frame up to 65536 bytes.
"""
import socket, struct, sys, threading

BUFFER = 64 * 1024

def recv_exactly(conn, size):
    data = bytearray()
    while len(data) < size:
        chunk = conn.recv(min(size - len(data), 1 << 20))
        if not chunk:
            raise EOFError
        data += chunk
    return bytes(data)

def handle(conn):
    with conn:
        try:
            while True:
                (length,) = struct.unpack("!I", recv_exactly(conn, 4))
                payload = recv_exactly(conn, min(length, BUFFER))
                recv_exactly(conn, length - len(payload))  # the rest does not fit: skipped
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
