"""Calculator, single thread with selectors (correct)."""
import selectors, signal, socket, sys

OPS = {"ADD": lambda a, b: a + b, "SUB": lambda a, b: a - b,
       "MUL": lambda a, b: a * b, "DIV": lambda a, b: a // b}

def answer(line):
    parts = line.split()
    if len(parts) == 1 and parts[0].upper() == "QUIT":
        return None
    if len(parts) != 3 or parts[0].upper() not in OPS:
        return "ERR unknown command"
    try:
        a, b = int(parts[1]), int(parts[2])
    except ValueError:
        return "ERR bad number"
    if parts[0].upper() == "DIV" and b == 0:
        return "ERR division by zero"
    return str(OPS[parts[0].upper()](a, b))

sel = selectors.DefaultSelector()
bufs = {}

def close(conn):
    sel.unregister(conn)
    bufs.pop(conn, None)
    conn.close()

def on_read(conn):
    data = conn.recv(4096)   # BUG: ConnectionResetError kills the whole server
    if not data:
        close(conn)
        return
    bufs[conn] += data
    while b"\n" in bufs[conn]:
        line, bufs[conn] = bufs[conn].split(b"\n", 1)
        reply = answer(line.decode("utf-8", "replace"))
        try:
            conn.setblocking(True)
            if reply is None:
                conn.sendall(b"BYE\n")
                close(conn)
                return
            conn.sendall(reply.encode() + b"\n")
            conn.setblocking(False)
        except OSError:
            close(conn)
            return

def main():
    signal.signal(signal.SIGINT, lambda *a: sys.exit(0))
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("", int(sys.argv[1])))
    srv.listen(128)
    srv.setblocking(False)
    sel.register(srv, selectors.EVENT_READ)
    while True:
        for key, _ in sel.select():
            if key.fileobj is srv:
                conn, _ = srv.accept()
                conn.setblocking(False)
                bufs[conn] = b""
                sel.register(conn, selectors.EVENT_READ)
            else:
                on_read(key.fileobj)

if __name__ == "__main__":
    main()
