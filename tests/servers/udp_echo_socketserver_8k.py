"""BUGGY: socketserver.ThreadingUDPServer echo with the default max_packet_size (8192): longer datagrams are cut."""
import socketserver
import sys


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        sock.sendto(data, self.client_address)


if __name__ == "__main__":
    socketserver.ThreadingUDPServer.allow_reuse_address = True
    with socketserver.ThreadingUDPServer(("127.0.0.1", int(sys.argv[1])), Handler) as server:
        server.daemon_threads = True
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
