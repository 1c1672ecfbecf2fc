"""BUGGY: collects everything until the client closes, then echoes it all at once."""
import socket, sys, threading

def handle(conn):
    with conn:
        chunks = []
        while data := conn.recv(4096):
            chunks.append(data)
        conn.sendall(b"".join(chunks))

sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen()
while True:
    conn, _ = sk.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
