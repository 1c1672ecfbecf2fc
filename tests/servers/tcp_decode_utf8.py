"""BUGGY: decodes every chunk as UTF-8 and re-encodes it; binary data kills the client's thread."""
import socket, sys, threading

def handle(conn):
    with conn:
        while data := conn.recv(4096):
            text = data.decode()  # UnicodeDecodeError on binary input
            conn.sendall(text.encode())

sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen()
while True:
    conn, _ = sk.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
