"""A correct udp-hello server (the seeds' UDP greeting server), written to be read and learned from.

Run:  python udp_hello.py [PORT] [HOST]     (or set $PORT / $HOST)

Protocol: each datagram NAME is answered by one datagram b"Hello, NAME!" sent
to the address it came from.

What makes it correct, and what students often miss:
- recvfrom(1024), as in the tutorial, silently cuts any longer datagram: the
  buffer must hold the largest datagram (65,507 bytes over IPv4).
- Reply to the address recvfrom() returned: every datagram may come from a
  different client. UDP has no connections, so no threads are needed.
- An empty datagram is a valid (empty) name, not "the client left".
- The reply must fit in one datagram too: a name longer than 65,499 bytes
  cannot be answered, so it is reported and skipped instead of crashing.
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
        print(f"udp hello server listening on {host}:{port}", flush=True)
        while True:
            name, client = sock.recvfrom(MAX_DATAGRAM)
            try:
                sock.sendto(b"Hello, " + name + b"!", client)
            except OSError as error:  # reply too long, or the client is gone: keep serving the others
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
    print("udp hello server stopped", flush=True)
