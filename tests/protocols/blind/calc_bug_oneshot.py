"""BUGGY (the seeds' one-shot server, blind 20 F12): answers one request per connection, then closes it."""
import socket, sys
srv = socket.create_server(("127.0.0.1", int(sys.argv[1])))
while True:
    c, _ = srv.accept()
    with c:
        line = c.recv(1024).decode().split()
        if len(line) == 3:
            a, b = int(line[1]), int(line[2])
            c.sendall(f"{a + b}\n".encode())
