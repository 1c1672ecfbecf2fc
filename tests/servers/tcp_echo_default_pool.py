"""GOOD: each connection goes to a ThreadPoolExecutor with its default size,
min(32, CPUs + 4): at least 5 workers on any machine, so a few idle clients
never block the next one (and a 50-client crowd is served as clients leave)."""
import socket
import sys
from concurrent.futures import ThreadPoolExecutor


def handle(conn):
    with conn:
        while data := conn.recv(65536):
            conn.sendall(data)


sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen(128)
pool = ThreadPoolExecutor()
try:
    while True:
        conn, _ = sk.accept()
        pool.submit(handle, conn)
except KeyboardInterrupt:
    pass
