"""BUGGY (blind 17's C poll() server, in Python): non-blocking sockets and one send() per
read; what send() could not take (a short count, or BlockingIOError when the client is
not reading) is dropped. Every check where the client reads as it sends passes; a
client that reads late gets the start of the echo and then nothing
(echo::client_reads_late)."""
import selectors
import socket
import sys

selector = selectors.DefaultSelector()
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listen(128)
listener.setblocking(False)
selector.register(listener, selectors.EVENT_READ)
while True:
    for key, _ in selector.select():
        sock = key.fileobj
        if sock is listener:
            conn, _ = listener.accept()
            conn.setblocking(False)
            selector.register(conn, selectors.EVENT_READ)
            continue
        try:
            data = sock.recv(65536)
        except BlockingIOError:
            continue
        except OSError:
            data = b""
        if not data:
            selector.unregister(sock)
            sock.close()
            continue
        try:
            sock.send(data)  # BUG: the rest is never sent
        except (BlockingIOError, OSError):
            pass
