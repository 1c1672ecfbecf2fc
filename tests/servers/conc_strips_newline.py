"""BUGGY at echo only (from an outside tester): each recv(1024) is taken for one
message and echoed stripped (the newline is lost). No descriptor leak, no busy
loop, survives a reset: only echo:: checks may fail, the concurrency checks of
those properties must pass."""
import socket, sys, threading


def handle(c):
    with c:
        try:
            while True:
                d = c.recv(1024)
                if not d:
                    break
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
