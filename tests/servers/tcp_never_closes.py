"""BUGGY: stops reading at EOF but never closes the accepted socket (descriptor leak)."""
import socket, sys, threading

open_connections = []

def handle(conn):
    open_connections.append(conn)
    while data := conn.recv(4096):
        conn.sendall(data)
    # forgot conn.close()

sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen()
while True:
    conn, _ = sk.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
