"""A correct UDP echo server (RFC 862), written to be read and learned from.

Run:  python udp_echo.py [PORT] [HOST]     (or set $PORT / $HOST)

What makes it correct, and what students often miss:
- UDP keeps message boundaries: one recvfrom() is exactly one datagram. But a
  datagram longer than the buffer is silently cut, so the buffer must hold the
  largest possible datagram (65,507 bytes over IPv4), not 1024.
- Reply with sendto() to the address recvfrom() returned: every datagram may
  come from a different client.
- An empty datagram is a valid datagram: answer it with an empty one, and
  never treat b"" as "the client left" (UDP has no connection to leave).
- One socket serves every client; nothing can block for long, so no threads.
"""

import os
import signal
import socket
import sys

MAX_DATAGRAM = 65535


def serve(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        print(f"udp echo server listening on {host}:{port}", flush=True)
        while True:
            data, client = sock.recvfrom(MAX_DATAGRAM)
            try:
                sock.sendto(data, client)
            except OSError as error:  # e.g. the client's port is gone: keep serving the others
                print(f"could not reply to {client}: {error}", file=sys.stderr, flush=True)


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
    print("udp echo server stopped", flush=True)
