"""Buggy kv server: a selectors loop that ignores recv() returning b'' (the client
left): the connection stays registered, select() reports it readable for ever and
the loop spins at 100% CPU, and its socket is never closed. QUIT still closes.
Fails concurrency::idle_without_busy_loop and concurrency::no_descriptor_leak."""

import selectors
import socket
import sys

STORE = {}
HELP = "COMMANDS SET GET DEL HELP QUIT"


def answer(line):
    parts = line.split(" ", 2)
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
        return "BYE", True
    return "ERR unknown command", False


sel = selectors.DefaultSelector()
pending = {}
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listen(64)
listener.setblocking(False)
sel.register(listener, selectors.EVENT_READ)
try:
    while True:
        for key, _ in sel.select():
            if key.fileobj is listener:
                conn, _ = listener.accept()
                sel.register(conn, selectors.EVENT_READ)
                pending[conn] = b""
                continue
            conn = key.fileobj
            try:
                data = conn.recv(65536)
            except ConnectionError:
                sel.unregister(conn)
                conn.close()
                del pending[conn]
                continue
            if not data:
                continue  # BUG: b'' means the client left; it should unregister and close
            pending[conn] += data
            while b"\n" in pending.get(conn, b""):
                line, pending[conn] = pending[conn].split(b"\n", 1)
                reply, close = answer(line.decode("utf-8", "replace"))
                conn.sendall(reply.encode() + b"\n")
                if close:
                    sel.unregister(conn)
                    conn.close()
                    del pending[conn]
                    break
except KeyboardInterrupt:
    pass
