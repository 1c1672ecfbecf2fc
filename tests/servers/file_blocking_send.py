"""BUGGY tcp-file: one thread, a selectors loop (so clients are served
concurrently) — but each file goes out in one blocking sendall(), so a client
that does not read stalls everybody. Fails concurrency::slow_reader_does_not_stall only."""
import hashlib, json, os, selectors, socket, struct, sys

ROOT = os.path.realpath(".")
sel = selectors.DefaultSelector()
buffers = {}

def reply(conn, fields, body=b""):
    data = json.dumps(fields).encode()
    conn.setblocking(True)  # the bug: blocks the whole server until this client has read it all
    try:
        conn.sendall(struct.pack("!I", len(data)) + data + body)
    finally:
        conn.setblocking(False)

def serve(conn, line):
    name = line[4:].decode()
    path = os.path.realpath(name)
    if os.path.commonpath([ROOT, path]) != ROOT or not os.path.isfile(path):
        return reply(conn, {"error": "no such file"})
    body = open(path, "rb").read()
    reply(conn, {"name": name, "size": len(body), "sha256": hashlib.sha256(body).hexdigest()}, body)

def close(conn):
    sel.unregister(conn)
    buffers.pop(conn, None)
    conn.close()

sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen(128)
sk.setblocking(False)
sel.register(sk, selectors.EVENT_READ)
while True:
    for key, _ in sel.select():
        if key.fileobj is sk:
            conn, _ = sk.accept()
            conn.setblocking(False)
            buffers[conn] = bytearray()
            sel.register(conn, selectors.EVENT_READ)
            continue
        conn = key.fileobj
        try:
            data = conn.recv(65536)
        except OSError:
            data = b""
        if not data:
            close(conn)
            continue
        buffers[conn] += data
        try:
            while (end := buffers[conn].find(b"\n")) >= 0:
                line = bytes(buffers[conn][:end])
                del buffers[conn][: end + 1]
                serve(conn, line)
        except OSError:
            close(conn)
