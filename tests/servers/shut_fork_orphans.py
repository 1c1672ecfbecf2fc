"""BUGGY: fork per client; the children ignore SIGTERM and outlive the parent.

The parent exits quietly on SIGINT or SIGTERM, but each child sets SIGTERM to
SIG_IGN (as a student does "so a client is not cut off"): the SIGTERM sent to
the server's process group reaches it and does nothing, and it keeps serving
its client as an orphan. Ctrl+C ends the children (SIGINT is left to its
default). Without clients there are no children, and the shutdown is clean.
"""
import os, signal, socket, sys

signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped automatically
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen(64)
try:
    while True:
        conn, _ = sk.accept()
        if os.fork() == 0:
            sk.close()
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the bug
            while data := conn.recv(65536):
                conn.sendall(data)
            os._exit(0)
        conn.close()
except KeyboardInterrupt:
    pass
