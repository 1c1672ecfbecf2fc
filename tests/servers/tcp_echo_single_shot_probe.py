"""A one-connection server: it accepts exactly once. A readiness probe that
connected would steal its only accept(); the harness must not."""
import socket, sys

sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen()
conn, _ = sk.accept()
while data := conn.recv(65536):
    conn.sendall(data)
