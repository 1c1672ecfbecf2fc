"""BUGGY tcp-hello: keeps every accepted connection in a list (to "greet them
all later") and never closes one whose client left: each client that comes
and goes costs the server a descriptor. Every conversation is right; only
concurrency::no_descriptor_leak fails."""
import socket, sys, threading

clients = []  # the bug: a closed client's socket stays here, open, for ever

def handle(conn):
    clients.append(conn)
    conn.sendall(b"Welcome!\n")
    buffer = b""
    while data := conn.recv(65536):  # on b'' the handler ends, and the socket stays open in the list
        buffer += data
        while b"\n" in buffer:
            name, buffer = buffer.split(b"\n", 1)
            if name == b"exit":
                clients.remove(conn)
                conn.close()
                return
            conn.sendall(b"Hello, " + name + b"!\n")

sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen(128)
while True:
    conn, _ = sk.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
