"""A reference that answers PONG on every second connection and NOPE on the others: as a reply that depends on
timing looks from outside, but the same every time (the first connection gets NOPE)."""
import socket, sys, threading

count = 0
lock = threading.Lock()


def serve(conn):
    global count
    with lock:
        count += 1
        good = count % 2 == 0
    with conn, conn.makefile("rb") as lines:
        try:
            for _ in lines:
                conn.sendall(b"PONG\n" if good else b"NOPE\n")
        except OSError:
            pass


listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listen(64)
try:
    while True:
        threading.Thread(target=serve, args=(listener.accept()[0],), daemon=True).start()
except KeyboardInterrupt:
    pass
