"""A server that takes its port from sys.argv[1] (correct when given {port}; IndexError without it)."""

import socket, sys
port = int(sys.argv[1])
s = socket.socket(); s.bind(("127.0.0.1", port)); s.listen()
while True:
    c, _ = s.accept(); c.sendall(c.recv(1024)); c.close()
