"""BUGGY tcp-hello, unframed mode (the seed's style: one message per send(),
no delimiter) greeting with b"Welcome!" (8 bytes) instead of b"Welcome".
Otherwise correct. Fails echo::greeting only: the stray "!" belongs to the
greeting, not to the replies that follow."""
import socket, sys, threading

def handle(conn):
    with conn:
        conn.sendall(b"Welcome!")
        while True:
            data = conn.recv(65536)
            if not data or data == b"exit":
                break
            conn.sendall(b"Hello, " + data + b"!")

sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen(128)
while True:
    conn, _ = sk.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
