"""BUGGY (blind 19, from a curio server): a correct line-mode hello server that writes its greeting
twice. Every reply is then a line late; conversation::greeting must fail, and the later failures
must name the stray bytes, not the server's (correct) line reader."""
import socket
import sys
import threading


def serve(conn: socket.socket) -> None:
    with conn, conn.makefile("rb") as lines:
        conn.sendall(b"Welcome!\nWelcome!\n")  # BUG: once (one send: both arrive before any request)
        for line in lines:
            name = line.rstrip(b"\r\n")
            if name == b"exit":
                return
            conn.sendall(b"Hello, " + name + b"!\n")


listener = socket.create_server(("127.0.0.1", int(sys.argv[1])))
while True:
    conn, _ = listener.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
