"""BUGGY: a fork-per-client echo server, as the fork() tutorials write it, that never waits
for its children: each one that ends stays a zombie in the process table until the parent
reaps it, and once the process limit is reached fork() fails. Correct at echo, and the
parent closes its copy of each accepted socket (no descriptor leak)."""
import os, socket, sys

sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen(64)
while True:
    conn, _ = sk.accept()
    if os.fork() == 0:
        sk.close()
        with conn:
            while data := conn.recv(65536):
                conn.sendall(data)
        os._exit(0)
    conn.close()
