"""HOSTILE (but correct) echo server on every address: `0.0.0.0` (default) or `::` (argv[2])."""
import socket, sys, threading

host = sys.argv[2] if len(sys.argv) > 2 else "0.0.0.0"
family = socket.AF_INET6 if ":" in host else socket.AF_INET

def handle(conn):
    with conn:
        while data := conn.recv(65536):
            conn.sendall(data)

sk = socket.socket(family)
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind((host, int(sys.argv[1])))
sk.listen()
while True:
    conn, _ = sk.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
