"""BUGGY (as `nc -l` without -k): accepts one client, closes its listening socket, echoes for that client and
exits. A second client is refused, so no check can hold clients mid-conversation: the checks that need them
fail, and shutdown::no_traceback (recommended) is not judged rather than warned about a refused connection."""
import socket, sys

listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listen()
conn, _ = listener.accept()
listener.close()  # the bug: one client, then nobody else
try:
    with conn:
        while data := conn.recv(65536):
            conn.sendall(data)
except (KeyboardInterrupt, OSError):
    pass
