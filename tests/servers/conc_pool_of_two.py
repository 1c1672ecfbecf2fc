"""BUGGY: each connection goes to a ThreadPoolExecutor of 2 workers. A worker is
held until its client leaves, so two clients that stay connected and idle keep
a third from being served (it is, once one of them leaves). The 50-client crowd
still passes: each crowd client leaves once echoed, freeing its worker."""
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
pool = ThreadPoolExecutor(max_workers=2)
try:
    while True:
        conn, _ = sk.accept()
        pool.submit(handle, conn)
except KeyboardInterrupt:
    pass
