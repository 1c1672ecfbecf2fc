"""BUGGY (seed 000's habit, blind tester 11): one recv(1024) per connection, its echo,
then close — a second message on the same connection is never read."""
import socket
import sys
import threading


def handle(conn: socket.socket) -> None:
    conn.sendall(conn.recv(1024))
    conn.close()


listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listen()
while True:
    conn, _ = listener.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
