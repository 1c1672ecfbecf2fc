"""BUGGY: a selectors server with no error handling — a client that vanishes
with a reset (ConnectionResetError) kills the whole process."""
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
        data = conn.recv(65536)          # BUG: ConnectionResetError ends the server
        if not data:
            sel.unregister(conn)
            conn.close()
            continue
        conn.sendall(data)
