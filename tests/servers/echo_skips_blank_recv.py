"""BUGGY: treats each recv() as one message and ignores "blank" ones.

A chat habit: `if not data.strip(): continue` skips empty lines. But a recv()
is not a message: when a message arrives in pieces, a piece holding only a
space or a newline is silently dropped. Whole messages come back intact.
"""
import socket, sys, threading

def handle(conn):
    with conn:
        while data := conn.recv(4096):
            if not data.strip():  # "an empty message": in fact a piece of one
                continue
            conn.sendall(data)

sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen()
while True:
    conn, _ = sk.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
