"""BUGGY twice: the echo loses the newline (echo::'s finding) AND the handler
keeps calling recv() after it returned b'' (the busy loop must still be found)."""
import socket, sys, threading


def handle(c):
    try:
        while True:
            d = c.recv(1024)
            if d:
                c.send(d.strip())  # b'' is never taken for the end: a busy loop once the client leaves
    except OSError:
        pass


s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(128)
while True:
    c, a = s.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
