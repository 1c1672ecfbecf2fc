"""BUGGY: a selectors server that, once a client is readable, insists on
reading that client's whole line (blocking) before it goes back to select():
a client that stalls in the middle of a line freezes every other client."""
import selectors, socket, sys

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
        line = b""
        try:
            while not line.endswith(b"\n"):      # BUG: blocks until this client's line is complete
                chunk = conn.recv(65536)
                if not chunk:
                    break
                line += chunk
            if line:
                conn.sendall(line)
                continue
        except ConnectionError:
            pass
        sel.unregister(conn)
        conn.close()
