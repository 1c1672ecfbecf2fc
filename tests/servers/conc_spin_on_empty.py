"""BUGGY: never notices that recv() returned b'' (the client closed), so it
keeps the connection registered: select() reports it readable forever and the
loop spins at 100% CPU — and the socket is never closed."""
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
        try:
            data = conn.recv(65536)
            if data:                     # BUG: b'' is ignored instead of closing
                conn.sendall(data)
        except ConnectionError:
            sel.unregister(conn)
            conn.close()
