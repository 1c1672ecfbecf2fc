"""BUGGY tcp-hello: no threads: serves one client until it leaves; the others wait
ungreeted. Fails the concurrency checks only."""
import socket, sys

sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen(128)
while True:
    conn, _ = sk.accept()
    with conn, conn.makefile("rb") as lines:
        try:
            conn.sendall(b"Welcome!\n")
            for line in lines:
                name = line.rstrip(b"\n")
                if name == b"exit":
                    break
                conn.sendall(b"Hello, " + name + b"!\n")
        except OSError:
            pass
