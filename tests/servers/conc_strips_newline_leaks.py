"""BUGGY twice: the echo loses the newline (echo::'s finding) AND no accepted
socket is ever closed (the descriptor leak must still be found)."""
import socket, sys, threading

kept = []


def handle(c):
    kept.append(c)  # never closed
    try:
        while True:
            d = c.recv(1024)
            if not d:
                return
            c.send(d.strip())
    except OSError:
        pass


s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(128)
while True:
    c, a = s.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
