"""BUGGY: a slow select() echo server (0.1 s of work for each new connection's
first message) that never closes a connection when its client leaves (recv()
returned b'' and the socket is only dropped from the select list). Slow per
connection, so that the descriptor-leak check runs out of its time budget: it
must still see the leak in the connections that fit."""

import select
import socket
import sys
import time

listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listen(100)
watched = [listener]
greeted = set()  # connections whose first message has been worked on
forgotten = []  # the leak: kept open, never read again
try:
    while True:
        readable, _, _ = select.select(watched, [], [])
        for sock in readable:
            if sock is listener:
                conn, _ = listener.accept()
                watched.append(conn)
                continue
            data = sock.recv(65536)
            if sock not in greeted:
                greeted.add(sock)
                time.sleep(0.1)  # slow work for each new client
            if data:
                sock.sendall(data)
            else:  # the bug: sock.close() is missing
                watched.remove(sock)
                forgotten.append(sock)
except KeyboardInterrupt:
    pass
