"""BUGGY: a length header of 8 bytes (struct '!Q'), where the protocol says 4 ('!I').

Correct otherwise (recv-exactly loops, a thread per client): it reads a 4-byte
header and the first 4 payload bytes as one huge length, and waits for bytes
that never come. Its silence looks like a wrong byte order, but it is not: it
does not answer a frame whose header reads the same in both byte orders either
(blind 13, F8), so it must not be told about byte order.
"""
import socket, struct, sys, threading

HEADER = struct.Struct("!Q")

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
                (length,) = HEADER.unpack(recv_exactly(conn, HEADER.size))
                payload = recv_exactly(conn, length)
                conn.sendall(HEADER.pack(len(payload)) + payload)
        except (EOFError, OSError, MemoryError):
            pass

sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen()
while True:
    conn, _ = sk.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
