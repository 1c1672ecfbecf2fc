"""GOOD: socketserver.ThreadingUDPServer echo, as the seeds teach TCP, reading whole datagrams."""
import socketserver
import sys


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        sock.sendto(data, self.client_address)


if __name__ == "__main__":
    socketserver.ThreadingUDPServer.allow_reuse_address = True
    socketserver.ThreadingUDPServer.max_packet_size = 65535  # the default, 8192, cuts longer datagrams
    with socketserver.ThreadingUDPServer(("127.0.0.1", int(sys.argv[1])), Handler) as server:
        server.daemon_threads = True
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
