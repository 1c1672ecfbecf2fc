"""BUGGY (tcp-framed): a selectors server that, once a client is readable,
reads that client's whole frame with blocking recv()s before it goes back to
select(): a client that stalls after a header freezes every other client."""
import selectors, socket, struct, sys

def recv_exactly(conn, size):
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))   # BUG: blocks the whole loop
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data

sel = selectors.DefaultSelector()
sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen(128)
sel.register(sk, selectors.EVENT_READ)
while True:
    for key, _ in sel.select():
        if key.fileobj is sk:
            conn, _ = sk.accept()
            sel.register(conn, selectors.EVENT_READ)
            continue
        conn = key.fileobj
        try:
            (length,) = struct.unpack("!I", recv_exactly(conn, 4))
            conn.sendall(struct.pack("!I", length) + recv_exactly(conn, length))
        except ConnectionError:
            sel.unregister(conn)
            conn.close()
