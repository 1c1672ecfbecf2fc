"""tcp-hello with the stock socketserver.ForkingTCPServer: one process per client, but at most
max_children = 40 at once; the 41st client is accepted only when one of them ends. It serves
50 clients that come and go (the built-in crowd), not 50 held at once (a protocol file's crowd),
and the failure must name max_children, not tell a forking server to use threads."""

import socketserver, sys
class H(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(b"Welcome!\n")
        for line in self.rfile:
            name = line.rstrip(b"\r\n").decode("utf-8")
            if name == "exit":
                break
            self.wfile.write(f"Hello, {name}!\n".encode("utf-8"))
class S(socketserver.ForkingTCPServer):
    allow_reuse_address = True
with S(("127.0.0.1", int(sys.argv[1])), H) as s:
    try:
        s.serve_forever()
    except KeyboardInterrupt:
        pass
