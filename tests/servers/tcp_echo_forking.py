"""Correct: classic fork-per-client server (children reaped with SIGCHLD ignored). Its children are in its
process group, so SIGTERM and Ctrl+C sent to the group end them too."""
import os, signal, socket, sys

signal.signal(signal.SIGCHLD, signal.SIG_IGN)
sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen(64)
while True:
    conn, _ = sk.accept()
    if os.fork() == 0:
        sk.close()
        while data := conn.recv(65536):
            conn.sendall(data)
        os._exit(0)
    conn.close()
