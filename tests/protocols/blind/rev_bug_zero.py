"""BUG: a zero-length payload is taken for 'the client closed'."""
import socket, struct, sys, threading

def recv_exact(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data

def handle(conn):
    with conn:
        try:
            while True:
                header = recv_exact(conn, 4)
                if header is None:
                    return
                (n,) = struct.unpack("!I", header)
                payload = recv_exact(conn, n)
                if not payload:      # BUG: b"" (n == 0) treated like EOF
                    return
                conn.sendall(header + payload[::-1])
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
