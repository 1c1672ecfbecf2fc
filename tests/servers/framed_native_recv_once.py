"""BUGGY (the seeds' code, as written): struct.pack('i') headers (native,
little-endian on x86) and header = recv(4), body = recv(n) once. Checked
with `--length-format '<i'` the byte order is right; its real bug is the
short read: a header arriving in pieces makes struct.unpack raise
`struct.error: unpack requires a buffer of 4 bytes`. Like many students'
servers it keeps every connection in a list, so a crashed thread leaves its
connection open: the client sees silence, as with a wrong byte order.
"""

import socket
import struct
import sys
import threading


clients = []


def handle(conn):
    clients.append(conn)
    if True:
        while True:
            header = conn.recv(4)
            if not header:
                break
            (length,) = struct.unpack("i", header)  # struct.error if fewer than 4 bytes came
            body = conn.recv(length)  # may be only part of the body
            conn.sendall(struct.pack("i", len(body)) + body)


sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen()
while True:
    conn, _ = sk.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
