"""A correct TCP echo server (RFC 862) in one thread, with `selectors`.

Run:  python tcp_echo_selectors.py [PORT] [HOST]     (or set $PORT / $HOST)

The other way to serve many clients at once: instead of one thread per client
(tcp_echo.py), one loop asks the operating system "which sockets are ready?"
and does only what can be done without waiting. What makes it correct:
- Every socket is non-blocking, so no single client can stop the loop: a
  blocking recv() or sendall() on one slow client would freeze everyone.
- Each connection has its *own* pending-output buffer (a dict keyed by the
  socket), never a shared global one: clients must never see each other's bytes.
- We watch for "writable" only while a connection has output pending;
  otherwise select() would report it writable all the time and the loop would
  spin at 100% CPU.
- recv() returning b"" means the client closed (or half-closed): send what
  is still pending, then unregister and close the socket. Forgetting to unregister it makes select() report it readable
  forever (a busy loop); forgetting to close it leaks a descriptor.
- ConnectionResetError (the client vanished) ends that connection only,
  never the server.
- While a connection has too much output pending (the client reads slowly),
  we stop reading from it: memory stays bounded and the client is slowed down,
  the others are not.
"""

import os
import selectors
import signal
import socket
import sys

MAX_PENDING = 1 << 20  # stop reading a client while this much of its echo is unsent


def serve(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(128)
    listener.setblocking(False)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    pending: dict[socket.socket, bytearray] = {}  # per-connection output, never shared
    finished: set[socket.socket] = set()  # clients that sent b"": they will send nothing more
    print(f"tcp echo server (selectors) listening on {host}:{port}", flush=True)

    def close(conn: socket.socket) -> None:
        selector.unregister(conn)
        del pending[conn]
        finished.discard(conn)
        conn.close()

    def watch(conn: socket.socket) -> None:
        """Read while the client may still send and its backlog is small; want
        'writable' only while output is pending; close once all is said."""
        if conn in finished and not pending[conn]:
            close(conn)
            return
        events = 0
        if conn not in finished and len(pending[conn]) < MAX_PENDING:
            events |= selectors.EVENT_READ
        if pending[conn]:
            events |= selectors.EVENT_WRITE
        selector.modify(conn, events)

    while True:
        for key, mask in selector.select():
            if key.fileobj is listener:
                try:
                    conn, _ = listener.accept()
                except BlockingIOError:  # another event took it first
                    continue
                conn.setblocking(False)
                pending[conn] = bytearray()
                selector.register(conn, selectors.EVENT_READ)
                continue
            conn = key.fileobj
            try:
                if mask & selectors.EVENT_READ:
                    data = conn.recv(65536)
                    if data:
                        pending[conn] += data
                    else:  # the client closed (or half-closed): send what is left, then close
                        finished.add(conn)
                if pending[conn]:
                    sent = conn.send(pending[conn])
                    del pending[conn][:sent]
                watch(conn)
            except BlockingIOError:
                watch(conn)
            except OSError:  # ConnectionResetError, BrokenPipeError: this client is gone
                close(conn)


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
