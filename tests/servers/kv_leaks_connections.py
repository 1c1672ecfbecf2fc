"""Buggy kv server: when a client leaves (recv() returns b''), its socket is kept open for ever.
QUIT still closes. Fails concurrency::no_descriptor_leak only."""

import socket
import sys
import threading

HELP = 'COMMANDS SET GET DEL HELP QUIT'
QUIT_CLOSES = True
REUSE = True

STORE = {}
LOCK = threading.Lock()


def answer(line):
    parts = line.split(" ", 2)
    with LOCK:
        if parts[0] == "SET" and len(parts) == 3:
            STORE[parts[1]] = parts[2]
            return "OK", False
        if parts[0] == "GET" and len(parts) == 2:
            return (f"VALUE {STORE[parts[1]]}" if parts[1] in STORE else "ERR no such key"), False
        if parts[0] == "DEL" and len(parts) == 2:
            return ("OK" if STORE.pop(parts[1], None) is not None else "ERR no such key"), False
    if parts[0] == "HELP":
        return HELP, False
    if parts[0] == "QUIT":
        return "BYE", QUIT_CLOSES
    return "ERR unknown command", False


#: Connections whose client has left, kept forever (the bug).
KEPT = []


def serve(conn):
    pending = b""
    try:
        while True:
            data = conn.recv(65536)
            if not data:
                KEPT.append(conn)  # BUG: the client left, but its socket is never closed
                return
            pending += data
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                reply, close = answer(line.decode("utf-8", "replace"))
                conn.sendall(reply.encode() + b"\n")
                if close:
                    conn.close()
                    return
    except OSError:
        conn.close()


listener = socket.socket()
if REUSE:
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listen(64)
try:
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()
except KeyboardInterrupt:
    pass
