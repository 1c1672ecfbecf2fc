"""GOOD but ignores {port}/$PORT: listens on a port of its own choosing (found by discovery)."""
import socket, sys, threading

def handle(conn):
    with conn:
        while data := conn.recv(65536):
            conn.sendall(data)

sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0))
print("listening on", sk.getsockname(), flush=True)
sk.listen()
while True:
    conn, _ = sk.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
