"""A correct length-prefixed ("framed") TCP server, written to be read and learned from.

Run:  python tcp_framed.py [PORT] [HOST]     (or set $PORT / $HOST)

The protocol (the struct-header fix of 粘包, "sticky packets"): the client
sends frames, each a 4-byte unsigned big-endian length N (struct format "!I")
followed by N payload bytes; the server answers every frame with an identical
frame, in order.

Why a header at all: TCP is a byte stream, not a sequence of messages. Three
send()s of 5 bytes may arrive as one recv() of 15 bytes, and one send() of
100 bytes as recv()s of 1, 3 and 96 bytes. Only the header tells where a
message ends.

What makes this server correct, and what students often miss:
- recv(n) returns *at most* n bytes: whatever has arrived, from 1 byte up.
  So `header = conn.recv(4)` may return 1, 2 or 3 bytes, and
  `body = conn.recv(length)` may return part of the body. `recv_exactly()`
  below loops until it has every byte it asked for.
- "!I" (network byte order, unsigned), not "i": struct's "i" is the machine's
  native byte order (little-endian on x86 and ARM), so 5 is sent as
  05 00 00 00 and a "!I" peer reads 83,886,080.
- A zero-length frame is valid: it is answered by a zero-length frame. An
  empty payload is not the end of the connection; only recv() returning b""
  while we still expect bytes is.
- A header announcing more than MAX_FRAME bytes is a broken client: we close
  the connection rather than try to allocate gigabytes.
- sendall(), not send(): send() may write only part of the buffer.
- One thread per client (daemon threads, so SIGTERM / Ctrl+C end the process
  even with clients connected); SO_REUSEADDR so a restarted server can bind
  the port again at once.
"""

import os
import signal
import socket
import struct
import sys
import threading

HEADER = struct.Struct("!I")  # 4 bytes: unsigned int, network (big-endian) byte order
MAX_FRAME = 16 * 1024 * 1024  # the largest payload we accept (16 MiB)


class ClientClosed(Exception):
    """The client closed the connection (recv() returned b"")."""


def recv_exactly(conn: socket.socket, size: int) -> bytes:
    """Read exactly `size` bytes, however the network cut them. size 0 -> b""."""
    parts = []
    remaining = size
    while remaining > 0:
        chunk = conn.recv(min(remaining, 1 << 20))
        if not chunk:  # the client closed before sending everything
            raise ClientClosed()
        parts.append(chunk)
        remaining -= len(chunk)
    return b"".join(parts)  # one join at the end: no quadratic `data += chunk`


def handle_client(conn: socket.socket, address) -> None:
    """Answer every frame with the same frame until the client closes."""
    with conn:
        try:
            while True:
                header = recv_exactly(conn, HEADER.size)  # the header may arrive in pieces too
                (length,) = HEADER.unpack(header)
                if length > MAX_FRAME:
                    print(f"{address}: frame of {length} bytes refused (max {MAX_FRAME}); closing", flush=True)
                    return
                payload = recv_exactly(conn, length)  # b"" for a zero-length frame: still a frame
                conn.sendall(HEADER.pack(len(payload)) + payload)
        except ClientClosed:
            pass  # the normal end of a conversation
        except (ConnectionResetError, BrokenPipeError):
            pass  # the client vanished; nothing to clean up but our socket


def serve(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(128)
        print(f"tcp framed server listening on {host}:{port}", flush=True)
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
    print("tcp framed server stopped", flush=True)
