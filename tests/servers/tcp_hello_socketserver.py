"""Correct tcp-hello server in the socketserver style the seeds teach:
ThreadingTCPServer keeps listen(5), so 50 clients connecting at once only
work if the client side waits for room in the accept queue."""

import socketserver, sys
class H(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(b"Welcome!\n")
        for line in self.rfile:
            name = line.rstrip(b"\r\n").decode("utf-8")
            if name == "exit":
                break
            self.wfile.write(f"Hello, {name}!\n".encode("utf-8"))
class S(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
with S(("127.0.0.1", int(sys.argv[1])), H) as s:
    try:
        s.serve_forever()
    except KeyboardInterrupt:
        pass
