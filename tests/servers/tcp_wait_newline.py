"""BUGGY: echoes line by line (readline), so bytes without a newline never come back."""
import socket, sys, threading

def handle(conn):
    with conn, conn.makefile("rb") as reader:
        for line in reader:
            conn.sendall(line)

sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen()
while True:
    conn, _ = sk.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
