"""BUGGY (the seeds' code): header = recv(4), then body = recv(n) once.

recv(n) returns *at most* n bytes, so a header or body that arrives in pieces
is read short: a 1-byte header piece makes struct.unpack raise (the thread
dies, the connection closes), a partial body is answered as a short frame.
Fails the checks that split frames; passes those that send whole frames,
coalesced ones included (whole frames waiting in the buffer are read exactly).
"""
import socket, struct, sys, threading

def handle(conn):
    with conn:
        while True:
            header = conn.recv(4)
            if not header:
                break
            (length,) = struct.unpack("!I", header)  # struct.error if fewer than 4 bytes came
            body = conn.recv(length)  # may be only part of the body
            conn.sendall(struct.pack("!I", len(body)) + body)

sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen()
while True:
    conn, _ = sk.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
