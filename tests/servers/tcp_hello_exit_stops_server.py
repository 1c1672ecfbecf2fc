"""BUGGY tcp-hello: `exit` from any client stops the whole server (os._exit in the
client's thread). Fails concurrency::exit_ends_only_its_client only."""
import os, socket, sys, threading

def handle(conn):
    with conn, conn.makefile("rb") as lines:
        conn.sendall(b"Welcome!\n")
        for line in lines:
            name = line.rstrip(b"\n")
            if name == b"exit":
                conn.close()
                os._exit(0)
            conn.sendall(b"Hello, " + name + b"!\n")

sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen(128)
while True:
    conn, _ = sk.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
