"""BUGGY kv server, as a C server is written: SIGPIPE keeps its default action (it ends the
process) and each reply is written in two writes (the text, then its newline). A client that
sends a request and closes without reading the reply makes the second write hit a connection
the client's kernel already reset: SIGPIPE kills the whole server. Correct otherwise."""

import signal
import socket
import sys
import threading
import time

signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # C's default: a write to a reset connection ends the process

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
                    conn.sendall(reply.encode())
                    time.sleep(0.05)  # (the work between two writes in a C server)
                    conn.sendall(b"\n")
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
