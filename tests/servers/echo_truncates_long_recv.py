"""BUGGY: treats one recv(1024) as one message and cuts longer "messages".

When a recv() fills the whole 1024-byte buffer it assumes the message was
too long, echoes the first 1024 bytes and discards what else is waiting. A
burst of short messages coalesced in one segment is such a "long message":
everything after its first 1024 bytes is lost (so are the 1 MiB payload and
the echo suite's sizes above 1024 bytes).
"""
import socket, sys, threading

def handle(conn):
    with conn:
        while data := conn.recv(1024):
            conn.sendall(data)
            if len(data) == 1024:  # "message too long": drop the rest of it
                conn.setblocking(False)
                try:
                    while conn.recv(65536):
                        pass
                except BlockingIOError:
                    pass
                conn.setblocking(True)

sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen()
while True:
    conn, _ = sk.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
