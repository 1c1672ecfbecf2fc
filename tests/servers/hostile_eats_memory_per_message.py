"""HOSTILE: a one-client-at-a-time echo server that keeps 48 MiB more per message.

It dies of MemoryError mid-run under a memory limit. Bounded by design: it stops
hoarding at 3 GiB.
"""
import socket, sys

hoard = []
sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen()
while True:
    conn, _ = sk.accept()
    with conn:
        while data := conn.recv(65536):
            if len(hoard) < 64:  # 64 x 48 MiB = 3 GiB
                hoard.append(bytearray(48 << 20))
            conn.sendall(data)
