"""Buggy kv server: HELP, a recommended conversation of kv_recommended_first.toml, kills the whole server
(os._exit in the handler thread). A recommended reply may differ; a crash fails the check all the same."""

import os
import socket
import sys
import threading

HELP = 'HELP: try SET, GET'
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
        os._exit(1)  # the bug: an unexpected command ends the server
    if parts[0] == "QUIT":
        return "BYE", QUIT_CLOSES
    return "ERR unknown command", False


def serve(conn):
    pending = b""
    with conn:
        try:
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                pending += data
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    reply, close = answer(line.decode("utf-8", "replace"))
                    conn.sendall(reply.encode() + b"\n")
                    if close:
                        return
        except OSError:
            return


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
