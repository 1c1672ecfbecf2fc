"""BUG: header = recv(4); body = recv(n) -- no loop until complete."""
import socket, struct, sys, threading

def handle(conn):
    with conn:
        try:
            while True:
                header = conn.recv(4)
                if len(header) < 4:
                    return
                (n,) = struct.unpack("!I", header)
                payload = conn.recv(n) if n else b""
                conn.sendall(struct.pack("!I", len(payload)) + payload[::-1])
        except OSError:
            pass

srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", int(sys.argv[1])))
srv.listen(128)
try:
    while True:
        c, _ = srv.accept()
        threading.Thread(target=handle, args=(c,), daemon=True).start()
except KeyboardInterrupt:
    pass
