"""A correct TCP echo server (RFC 862) in the `socketserver` style the
tutorials teach (socketserver.ThreadingTCPServer + a BaseRequestHandler).

Run:  python tcp_echo_socketserver.py [PORT] [HOST]     (or set $PORT / $HOST)

What makes it correct, and what students often miss:
- ThreadingTCPServer runs each connection's handle() in its own thread, so an
  idle or slow client never blocks the others. (Plain TCPServer serves one
  client at a time: the second client waits until the first one leaves.)
- Everything about one client lives in the handler (self.request and local
  variables). A global buffer shared by all handlers mixes clients' bytes up.
- recv() returning b"" means the client closed: return from handle().
  socketserver then closes the socket for us (no descriptor leak). Looping on
  b"" would spin a CPU forever.
- A client that vanishes (ConnectionResetError) only ends its own handler;
  socketserver catches the error (handle_error prints it). We catch it
  ourselves so the log stays quiet.
- allow_reuse_address sets SO_REUSEADDR before bind, so a restarted server
  gets its port back at once; daemon_threads lets Ctrl+C/SIGTERM end the
  process even while clients are connected.
"""

import os
import signal
import socketserver
import sys


class EchoHandler(socketserver.BaseRequestHandler):
    """One instance per connection, run in its own thread."""

    def handle(self) -> None:
        try:
            while True:
                data = self.request.recv(65536)
                if not data:  # the client closed or half-closed: we are done
                    return
                self.request.sendall(data)
        except (ConnectionResetError, BrokenPipeError):
            return  # the client vanished; socketserver closes our socket


class EchoServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 128  # the listen() backlog: room for a burst of clients


def stop(signum, frame) -> None:
    """Turn SIGTERM into a clean exit, like Ctrl+C (SIGINT)."""
    raise SystemExit(0)


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ.get("PORT", "9000"))
    host = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("HOST", "127.0.0.1")
    if ":" in host:
        EchoServer.address_family = socketserver.socket.AF_INET6
    signal.signal(signal.SIGTERM, stop)
    with EchoServer((host, port), EchoHandler) as server:
        print(f"tcp echo server (socketserver) listening on {host}:{port}", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
    print("tcp echo server stopped", flush=True)
