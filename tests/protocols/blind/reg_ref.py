"""UDP registry reference: socketserver.ThreadingUDPServer."""
import socketserver, sys, threading, time

registry = {}
lock = threading.Lock()

def answer(text):
    parts = text.split(" ", 2)
    if text == "":
        return "ERR empty request"
    if parts[0] == "TIME" and len(parts) == 1:
        return "TIME %.3f" % time.time()
    if parts[0] == "REG" and len(parts) == 3:
        with lock:
            registry[parts[1]] = parts[2]
        return "OK"
    if parts[0] == "UNREG" and len(parts) == 2:
        with lock:
            registry.pop(parts[1], None)
        return "OK"
    if parts[0] == "LOOKUP" and len(parts) == 2:
        with lock:
            addr = registry.get(parts[1])
        return "NOTFOUND " + parts[1] if addr is None else "AT " + addr
    return "ERR bad request"

class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        sock.sendto(answer(data.decode("utf-8", "replace")).encode(), self.client_address)

class Server(socketserver.ThreadingUDPServer):
    allow_reuse_address = True
    daemon_threads = True
    max_packet_size = 65535

if __name__ == "__main__":
    with Server(("127.0.0.1", int(sys.argv[1])), Handler) as srv:
        try:
            srv.serve_forever()
        except KeyboardInterrupt:
            pass
