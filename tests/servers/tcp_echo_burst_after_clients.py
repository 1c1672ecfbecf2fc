"""CORRECT: a threaded echo server with a one-off burst of work, as a JVM compiling hot code or a garbage
collection makes: when its third client has left, it spends 0.3 CPU seconds, over about 0.4 s, then rests.
The idle check judged two fractions of a window (0.1 CPU s each) of that one burst as a busy loop (blind
17, `java Server.java`)."""
import socket
import sys
import threading
import time

closed = 0
lock = threading.Lock()


def burst():
    spent = time.process_time()
    while time.process_time() - spent < 0.3:
        sum(range(1000))


def serve(conn):
    global closed
    with conn:
        try:
            while data := conn.recv(65536):
                conn.sendall(data)
        except OSError:
            pass
    with lock:
        closed += 1
        if closed == 3:
            threading.Thread(target=burst, daemon=True).start()


listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listen(64)
while True:
    conn, _ = listener.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
