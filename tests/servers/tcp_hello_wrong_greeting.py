"""BUGGY tcp-hello: greets with b"Welcome\\n" (no "!"); otherwise correct. Fails conversation::greeting only."""
import socket, sys, threading

def handle(conn):
    with conn, conn.makefile("rb") as lines:
        conn.sendall(b"Welcome\n")
        for line in lines:
            name = line.rstrip(b"\n")
            if name == b"exit":
                break
            conn.sendall(b"Hello, " + name + b"!\n")

sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen(128)
while True:
    conn, _ = sk.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
