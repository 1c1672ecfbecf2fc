"""BUGGY: fork per client, and each child calls setsid() (a daemon's habit),
leaving the server's process group and session: neither SIGTERM nor Ctrl+C
sent to the server's group reaches it, and it outlives the server."""
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
            os.setsid()
            while data := conn.recv(65536):
                conn.sendall(data)
            os._exit(0)
        conn.close()
except KeyboardInterrupt:
    pass
