"""Reverse service reference: socketserver.ThreadingTCPServer, !I length frames."""
import socketserver, struct, sys

def recv_exact(rfile, n):
    data = rfile.read(n)
    return data if len(data) == n else None

class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        try:
            while True:
                header = recv_exact(self.rfile, 4)
                if header is None:
                    return
                (n,) = struct.unpack("!I", header)
                payload = recv_exact(self.rfile, n)
                if payload is None:
                    return
                self.wfile.write(struct.pack("!I", n) + payload[::-1])
        except OSError:
            pass

class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True

if __name__ == "__main__":
    with Server(("127.0.0.1", int(sys.argv[1])), Handler) as srv:
        try:
            srv.serve_forever()
        except KeyboardInterrupt:
            pass
