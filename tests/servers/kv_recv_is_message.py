"""Buggy kv server (tests of protocol files): one recv() is taken as one command
line — it breaks when commands coalesce or arrive in pieces (framing::*)."""

import socket
import sys
import threading

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
        return "COMMANDS SET GET DEL HELP QUIT", False
    if parts[0] == "QUIT":
        return "BYE", True
    return "ERR unknown command", False


def serve(conn):
    with conn:
        try:
            while True:
                data = conn.recv(1024)  # the bug: one recv() is one command
                if not data:
                    return
                reply, close = answer(data.decode("utf-8", "replace").rstrip("\n"))
                conn.sendall(reply.encode() + b"\n")
                if close:
                    return
        except OSError:
            return


listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listen(64)
try:
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()
except KeyboardInterrupt:
    pass
