"""BUGGY: a select() echo server that closes a connection as soon as recv()
returns b'' — before it has written what that client is still owed. A
client that sends and then shuts down its write side (half-close) gets
nothing back. The fix: on b'', stop reading, finish writing, then close.

It works slowly (0.1 s per read), so that a half-closing client's FIN has
always arrived before it gets round to writing: the bug shows every time.
Only `echo::half_close` is run against it."""

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
try:
    while True:
        readable, writable, _ = select.select([listener, *pending], [s for s, out in pending.items() if out], [])
        for sock in readable:
            if sock is listener:
                conn, _ = listener.accept()
                conn.setblocking(False)
                pending[conn] = bytearray()
                continue
            try:
                data = sock.recv(65536)
            except ConnectionError:
                data = b""
            if data:
                pending[sock] += data
                time.sleep(0.1)  # slow work on each read (logging, say)
            else:  # the bug: what is still in pending[sock] is thrown away
                pending.pop(sock)
                sock.close()
        for sock in writable:
            if sock in pending:
                try:
                    sent = sock.send(pending[sock])
                    del pending[sock][:sent]
                except ConnectionError:
                    pending.pop(sock)
                    sock.close()
except KeyboardInterrupt:
    pass
