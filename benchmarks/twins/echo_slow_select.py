"""Fixed twin of tests/servers/echo_drops_pending_at_eof.py, for the benchmark only.

The same select() loop and the same 0.1 s of work per read, with only the
bug fixed: on b'' it stops reading, finishes writing what the client is
owed, then closes. The benchmark compares the buggy server's run with this
one's, so that the time the server spends on purpose is not counted as the
time its bug costs. Like the buggy server, it fails the 50-client crowd:
reading every ready client (0.1 s each) before writing to any, no byte moves
for seconds."""

import select
import socket
import sys
import time

listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listen(100)
listener.setblocking(False)
pending: dict[socket.socket, bytearray] = {}
finished: set[socket.socket] = set()  # the client half-closed: write what is owed, then close


def drop(sock: socket.socket) -> None:
    pending.pop(sock, None)
    finished.discard(sock)
    sock.close()


try:
    while True:
        reading = [s for s in pending if s not in finished]
        writing = [s for s, out in pending.items() if out]
        readable, writable, _ = select.select([listener, *reading], writing, [])
        for sock in readable:
            if sock is listener:
                conn, _ = listener.accept()
                conn.setblocking(False)
                pending[conn] = bytearray()
                continue
            try:
                data = sock.recv(65536)
            except ConnectionError:
                drop(sock)
                continue
            if data:
                pending[sock] += data
                time.sleep(0.1)  # slow work on each read, as in the buggy server
            elif pending[sock]:
                finished.add(sock)
            else:
                drop(sock)
        for sock in writable:
            if sock not in pending:
                continue
            try:
                sent = sock.send(pending[sock])
            except BlockingIOError:
                continue
            except ConnectionError:
                drop(sock)
                continue
            del pending[sock][:sent]
            if not pending[sock] and sock in finished:
                drop(sock)
except KeyboardInterrupt:
    pass
