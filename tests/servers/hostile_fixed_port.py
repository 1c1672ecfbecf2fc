"""HOSTILE (seed style): a correct echo server that hard-codes port 9999 and ignores {port}."""
import socket, threading

def handle(conn):
    with conn:
        while data := conn.recv(65536):
            conn.sendall(data)

sk = socket.socket()
sk.bind(("127.0.0.1", 9999))  # no SO_REUSEADDR, like the seeds: a second instance would collide
sk.listen()
while True:
    conn, _ = sk.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
