"""BUGGY tcp-file: its request loop never checks for recv() returning b'', so
once a client has downloaded what it wanted and closed, the thread spins on
the closed connection for ever (the buffer never gains a line). Every
download is right; only concurrency::idle_without_busy_loop fails (and it
holds every closed socket open too)."""
import hashlib, json, os, socket, struct, sys, threading

ROOT = os.path.realpath(".")

def reply(conn, fields, body=b""):
    data = json.dumps(fields, ensure_ascii=False).encode()
    conn.sendall(struct.pack("!I", len(data)) + data + body)

def serve(conn, line):
    name = line[4:].decode("utf-8", "replace") if line.startswith(b"get ") else ""
    path = os.path.realpath(name)
    if not name or os.path.commonpath([ROOT, path]) != ROOT or not os.path.isfile(path):
        return reply(conn, {"error": "no such file"})
    with open(path, "rb") as f:
        body = f.read()
    reply(conn, {"name": name, "size": len(body), "sha256": hashlib.sha256(body).hexdigest()}, body)

def handle(conn):
    buffer = b""
    while True:
        try:
            buffer += conn.recv(65536)  # the bug: b'' (the client left) is never looked at
        except OSError:
            return
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            try:
                serve(conn, line)
            except OSError:
                return

sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen(128)
while True:
    conn, _ = sk.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
