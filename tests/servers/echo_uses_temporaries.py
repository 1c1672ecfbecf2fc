"""A correct echo server that needs the system's temporary folders: a log file
in $TMPDIR (tempfile), a scratch file in /var/tmp and a multiprocessing lock (a
POSIX semaphore in /dev/shm). Every sandbox must give it writable, private ones."""

import multiprocessing
import os
import socket
import sys
import tempfile
import threading

log = tempfile.NamedTemporaryFile(prefix="echo-log-", dir="/tmp")
with open(f"/var/tmp/echo-{os.getpid()}", "wb") as scratch:
    scratch.write(b"started\n")
lock = multiprocessing.Lock()


def handle(conn: socket.socket) -> None:
    with conn:
        while data := conn.recv(65536):
            with lock:
                log.write(b"%d\n" % len(data))
            conn.sendall(data)


server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", int(sys.argv[1])))
server.listen(128)
try:
    while True:
        conn, _ = server.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()
except KeyboardInterrupt:
    pass
