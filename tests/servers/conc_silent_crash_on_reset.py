"""BUGGY: never answers anything (it only reads), and dies when a client resets its
connection: recv() raises ConnectionResetError in the one serving loop and nothing
catches it. Its silence is echo::'s finding; its death on a reset must still fail
concurrency::survives_abrupt_disconnect."""

import socket
import sys

listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listen(16)
while True:
    conn, _ = listener.accept()
    while conn.recv(65536):  # reads, never writes; a reset raises here and ends the server
        pass
    conn.close()
