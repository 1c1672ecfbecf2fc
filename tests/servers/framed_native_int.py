"""BUGGY (the seeds' struct.pack('i', n)): a native-order signed 'i' header.

On x86 and ARM 'i' is little-endian: a 5-byte frame's "!I" header
00 00 00 05 reads as 83886080, and the server waits for bytes that never
come. Correct otherwise (recv-exactly loops): `--length-format '<i'` makes
every check pass. A zero-length frame is the one frame it gets right.
"""
import socket, struct, sys, threading

def recv_exactly(conn, size):
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data

def handle(conn):
    with conn:
        try:
            while True:
                (length,) = struct.unpack("i", recv_exactly(conn, 4))
                payload = recv_exactly(conn, length)
                conn.sendall(struct.pack("i", len(payload)) + payload)
        except (EOFError, OSError):
            pass

sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen()
while True:
    conn, _ = sk.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
