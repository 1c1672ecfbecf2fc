"""BUGGY: takes an empty payload for "the client closed".

Its recv-exactly helper returns b"" for a zero-length frame, and the loop's
`if not payload: break` cannot tell that from end of stream: the connection
is closed instead of answering with an empty frame. Correct otherwise.
"""
import socket, struct, sys, threading

def recv_exactly(conn, size):
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            return b""  # closed
        data += chunk
    return data

def handle(conn):
    with conn:
        while True:
            header = recv_exactly(conn, 4)
            if not header:
                break
            (length,) = struct.unpack("!I", header)
            payload = recv_exactly(conn, length)
            if not payload:  # meant for end of stream; also true for a zero-length frame
                break
            conn.sendall(struct.pack("!I", len(payload)) + payload)

sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen()
while True:
    conn, _ = sk.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
