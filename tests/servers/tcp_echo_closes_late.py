"""GOOD: a thread per client that, when its client leaves, says goodbye at once
(shutdown(SHUT_WR): the client sees the close) but keeps the socket for half a
second more before close() — as a server that flushes a log or waits for a
last acknowledgement might. Sequential clients leave faster than that, so for
a moment it holds dozens of descriptors above its baseline; they all come back.
Not a leak: the descriptor-leak check must pass it."""
import socket
import sys
import threading
import time


def serve(conn: socket.socket) -> None:
    with conn:
        try:
            while data := conn.recv(65536):
                conn.sendall(data)
            conn.shutdown(socket.SHUT_WR)
        except OSError:
            return
        time.sleep(0.5)


listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listen(128)
while True:
    conn, _ = listener.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
