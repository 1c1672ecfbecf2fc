"""A correct TCP echo server (RFC 862), written to be read and learned from.

Run:  python tcp_echo.py [PORT] [HOST]     (or set $PORT / $HOST)

What makes it correct, and what students often miss:
- TCP is a byte stream. recv(4096) returns *whatever has arrived*, from 1 byte
  up to 4096: never assume one recv() is one message. An echo server does not
  need message boundaries at all: it sends back each chunk as it arrives.
- sendall(), not send(): send() may write only part of the buffer.
- recv() returning b"" means the client closed (or half-closed) its side: send
  nothing more, close our socket, free the thread. Looping on b"" spins a CPU.
- One thread per client, so a slow or idle client never blocks the others.
  Threads are daemons, so Ctrl+C / SIGTERM end the process even while clients
  are connected.
- SO_REUSEADDR lets a restarted server bind the port again at once, even while
  old connections linger in TIME_WAIT.
"""

import os
import signal
import socket
import sys
import threading


def handle_client(conn: socket.socket, address) -> None:
    """Echo every byte back until the client closes its side."""
    with conn:
        try:
            while True:
                data = conn.recv(65536)
                if not data:  # the client closed or half-closed: we are done
                    break
                conn.sendall(data)
        except (ConnectionResetError, BrokenPipeError):
            pass  # the client vanished; nothing to clean up but our socket


def serve(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(128)
        print(f"tcp echo server listening on {host}:{port}", flush=True)
        while True:
            conn, address = listener.accept()
            threading.Thread(target=handle_client, args=(conn, address), daemon=True).start()


def stop(signum, frame) -> None:
    """Turn SIGTERM into a clean exit, like Ctrl+C (SIGINT)."""
    raise SystemExit(0)


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ.get("PORT", "9000"))
    host = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("HOST", "127.0.0.1")
    signal.signal(signal.SIGTERM, stop)
    try:
        serve(host, port)
    except KeyboardInterrupt:
        pass
    print("tcp echo server stopped", flush=True)
