"""Reference server for kv.toml: a key-value store, one command per line.

A thread per client; the store is shared by all clients (a lock guards it);
each connection keeps its own partial line. Usage: python3 kv_server.py PORT
"""

import signal
import socket
import sys
import threading

STORE: dict[str, str] = {}
LOCK = threading.Lock()
HELP = "COMMANDS SET GET DEL HELP QUIT"


def answer(line: str) -> tuple[str, bool]:
    """(reply, close afterwards) for one command line."""
    parts = line.split(" ", 2)
    command = parts[0].upper()
    with LOCK:
        if command == "SET" and len(parts) == 3:
            STORE[parts[1]] = parts[2]
            return "OK", False
        if command == "GET" and len(parts) == 2:
            return (f"VALUE {STORE[parts[1]]}" if parts[1] in STORE else "ERR no such key"), False
        if command == "DEL" and len(parts) == 2:
            return ("OK" if STORE.pop(parts[1], None) is not None else "ERR no such key"), False
    if command == "HELP":
        return HELP, False
    if command == "QUIT":
        return "BYE", True
    return "ERR unknown command", False


def serve(conn: socket.socket) -> None:
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
        except (ConnectionResetError, BrokenPipeError):
            return


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 9000
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(64)
    try:
        while True:
            conn, _ = listener.accept()
            threading.Thread(target=serve, args=(conn,), daemon=True).start()
    except KeyboardInterrupt:
        pass
    finally:
        listener.close()


if __name__ == "__main__":
    main()
