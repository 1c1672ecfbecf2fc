"""A correct tcp-hello server (the seeds' greeting server), written to be read and learned from.

Run:  python tcp_hello.py [PORT] [HOST] [--unframed]     (or set $PORT / $HOST)

Protocol (line mode, the default): on connect send b"Welcome!\\n"; for each
line NAME (ending in b"\\n") send b"Hello, NAME!\\n"; the line b"exit" closes
this client's connection. --unframed speaks the seed's delimiter-less
variant: b"Welcome", then one reply b"Hello, NAME!" per recv().

What makes it correct, and what students often miss:
- TCP is a byte stream, not a sequence of messages. Two names sent quickly
  may arrive in one recv() (粘包), and one long name may take many recv()s.
  So keep a buffer, cut complete lines out of it at b"\\n", and keep the
  unfinished rest for the next recv(). Never treat one recv() as one line.
- Decode each complete line, not each chunk: a UTF-8 character may be split
  between two recv()s (b"\\xe5\\xbc" + b"\\xa0"), and decoding the halves fails.
- An empty line is a name too (b"Hello, !\\n"); only recv() returning b""
  means the client has gone.
- One thread per client, so a slow client never holds up the others, and
  `exit` ends only that client's thread — never the server (no sys.exit()).
- The unframed mode cannot be made correct: without a delimiter, coalesced
  names are indistinguishable from one long name. It exists to show why.
"""

import os
import signal
import socket
import sys
import threading

GREETING = {"line": b"Welcome!\n", "unframed": b"Welcome"}
MAX_LINE = 1 << 20  # refuse absurd lines instead of buffering forever


def reply(name: bytes) -> bytes:
    # Work on bytes: whatever UTF-8 came in goes back out unchanged.
    return b"Hello, " + name + b"!"


def serve_lines(conn: socket.socket) -> None:
    buffer = bytearray()
    while True:
        data = conn.recv(65536)
        if not data:  # the client closed: we are done
            return
        buffer += data
        while (end := buffer.find(b"\n")) >= 0:  # every complete line in the buffer
            name = bytes(buffer[:end])
            del buffer[: end + 1]
            if name == b"exit":
                return
            conn.sendall(reply(name) + b"\n")
        if len(buffer) > MAX_LINE:
            return


def serve_unframed(conn: socket.socket) -> None:
    while True:
        data = conn.recv(65536)  # one recv() taken as one message: the seed's (flawed) rule
        if not data or data == b"exit":
            return
        conn.sendall(reply(data))


def handle_client(conn: socket.socket, mode: str) -> None:
    with conn:
        try:
            conn.sendall(GREETING[mode])
            (serve_lines if mode == "line" else serve_unframed)(conn)
        except (ConnectionResetError, BrokenPipeError):
            pass  # the client vanished; nothing to clean up but our socket


def serve(host: str, port: int, mode: str) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(128)
        print(f"tcp hello server ({mode} mode) listening on {host}:{port}", flush=True)
        while True:
            conn, _ = listener.accept()
            threading.Thread(target=handle_client, args=(conn, mode), daemon=True).start()


def stop(signum, frame) -> None:
    """Turn SIGTERM into a clean exit, like Ctrl+C (SIGINT)."""
    raise SystemExit(0)


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--unframed"]
    mode = "unframed" if "--unframed" in sys.argv[1:] else "line"
    port = int(args[0]) if args else int(os.environ.get("PORT", "9000"))
    host = args[1] if len(args) > 1 else os.environ.get("HOST", "127.0.0.1")
    signal.signal(signal.SIGTERM, stop)
    try:
        serve(host, port, mode)
    except KeyboardInterrupt:
        pass
    print("tcp hello server stopped", flush=True)
