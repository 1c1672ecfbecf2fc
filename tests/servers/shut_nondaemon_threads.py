"""BUGGY (seed style): one thread per client, but not a daemon thread.

Ctrl+C ends the main thread (KeyboardInterrupt, caught quietly), yet Python
waits for every non-daemon thread before exiting: while a client stays
connected, the server never exits. SIGTERM keeps its default action (the
process dies at once), so only SIGINT with clients connected hangs.
"""
import socket, sys, threading


def handle(conn):
    with conn:
        while data := conn.recv(65536):
            conn.sendall(data)


sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen()
try:
    while True:
        conn, _ = sk.accept()
        threading.Thread(target=handle, args=(conn,)).start()  # the bug: daemon=True is missing
except KeyboardInterrupt:
    print("bye", flush=True)
sk.close()
