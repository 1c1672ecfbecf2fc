"""BUGGY: upper-cases what it echoes (a chat-server habit). Every content check fails."""
import socket, sys, threading

def handle(conn):
    with conn:
        while data := conn.recv(4096):
            conn.sendall(data.upper())

sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen()
while True:
    conn, _ = sk.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
