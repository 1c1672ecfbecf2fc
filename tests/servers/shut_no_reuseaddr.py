"""BUGGY: no SO_REUSEADDR. It serves and stops well, but a restart right after
a shutdown that had live connections fails with "Address already in use":
the old connections linger in the kernel (FIN_WAIT2, TIME_WAIT) for a minute."""
import signal, socket, sys, threading

signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))


def handle(conn):
    with conn:
        try:
            while data := conn.recv(65536):
                conn.sendall(data)
        except OSError:
            pass


sk = socket.socket()  # the bug: no sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen()
try:
    while True:
        conn, _ = sk.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()
except KeyboardInterrupt:
    pass
