"""GOOD: a selectors echo server that takes a while to start and prints a lot."""
import selectors, socket, sys, time

for i in range(2000):
    print(f"loading module {i}: " + "." * 100)
    print(f"warning {i}", file=sys.stderr)
time.sleep(1.0)
sel = selectors.DefaultSelector()
sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen(128)
sk.setblocking(False)
sel.register(sk, selectors.EVENT_READ)
pending = {}
while True:
    for key, mask in sel.select():
        if key.fileobj is sk:
            conn, _ = sk.accept()
            conn.setblocking(False)
            pending[conn] = b""
            sel.register(conn, selectors.EVENT_READ)
            continue
        conn = key.fileobj
        if mask & selectors.EVENT_READ:
            try:
                data = conn.recv(65536)
            except ConnectionResetError:
                data = b""
            if not data:
                sel.unregister(conn)
                conn.close()
                pending.pop(conn, None)
                continue
            print(f"got {len(data)} bytes")
            pending[conn] += data
        if pending.get(conn):
            try:
                sent = conn.send(pending[conn])
            except (BlockingIOError, ConnectionResetError):
                sent = 0
            pending[conn] = pending[conn][sent:]
            sel.modify(conn, selectors.EVENT_READ | (selectors.EVENT_WRITE if pending[conn] else 0))
