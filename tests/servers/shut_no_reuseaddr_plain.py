"""BUGGY (from an outside tester): a threaded echo server without SO_REUSEADDR and
without any signal handling. A restart right after a shutdown with live
connections fails with "Address already in use" — every time: the harness
passed it now and then while a message half-read at the kill turned the
server's FINs into resets, which leave nothing behind."""
import socket, sys, threading
def handle(c):
    with c:
        while True:
            d = c.recv(65536)
            if not d: break
            c.sendall(d)
s = socket.socket()
s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(128)
while True:
    c, a = s.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
