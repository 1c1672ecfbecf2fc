"""BUGGY tcp-hello: threaded, but a global flag says whether the greeting was sent, so only the first client
ever gets "Welcome!". Every client is accepted at once: a greeting that never comes is not a one-client-at-a-time
server here, and must not be called one (tests/test_hello_verdicts.py)."""
import socket, sys, threading

greeted = False  # the bug: one flag for the whole server, not one per connection


def serve(conn):
    global greeted
    with conn, conn.makefile("rb") as lines:
        try:
            if not greeted:
                greeted = True
                conn.sendall(b"Welcome!\n")
            for line in lines:
                name = line.rstrip(b"\n")
                if name == b"exit":
                    break
                conn.sendall(b"Hello, " + name + b"!\n")
        except OSError:
            pass


sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen(128)
while True:
    threading.Thread(target=serve, args=(sk.accept()[0],), daemon=True).start()
