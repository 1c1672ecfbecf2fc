"""BUGGY (a student's habit, from blind tester 11): every reply gets a newline added,
as print() would, so each echo is whole and then one byte too long."""
import socket
import sys
import threading


def handle(conn: socket.socket) -> None:
    with conn:
        while data := conn.recv(1024):
            conn.sendall(data + b"\n")


listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listen(100)
while True:
    conn, _ = listener.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
