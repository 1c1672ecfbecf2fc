"""BUGGY (seed style): serves one client correctly, then exits."""
import socket, sys

sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen()
conn, addr = sk.accept()
while data := conn.recv(4096):
    conn.sendall(data)
conn.close()
sk.close()
