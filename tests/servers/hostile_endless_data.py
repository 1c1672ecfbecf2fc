"""HOSTILE: every client gets an endless stream of bytes instead of its echo."""
import socket, sys, threading

def handle(conn):
    chunk = b"A" * 65536
    with conn:
        try:
            while True:  # ends when the client goes away
                conn.sendall(chunk)
        except OSError:
            pass

sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen()
while True:
    conn, _ = sk.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
