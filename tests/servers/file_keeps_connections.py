"""BUGGY tcp-file: keeps every accepted connection in a list and, when its
client leaves (recv() returns b''), ends the handler without closing it:
each client that comes and goes costs the server a descriptor. Every
download is right; only concurrency::no_descriptor_leak fails."""
import hashlib, json, os, socket, struct, sys, threading

ROOT = os.path.realpath(".")
connections = []  # the bug: a closed client's socket stays here, open, for ever

def reply(conn, line):
    name = line[4:].decode("utf-8", "replace") if line.startswith(b"get ") else ""
    path = os.path.realpath(name)
    if not name or os.path.commonpath([ROOT, path]) != ROOT or not os.path.isfile(path):
        fields, body = {"error": "no such file"}, b""
    else:
        with open(path, "rb") as f:
            body = f.read()
        fields = {"name": name, "size": len(body), "sha256": hashlib.sha256(body).hexdigest()}
    data = json.dumps(fields, ensure_ascii=False).encode()
    conn.sendall(struct.pack("!I", len(data)) + data + body)

def handle(conn):
    connections.append(conn)
    buffer = b""
    try:
        while data := conn.recv(65536):
            buffer += data
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                reply(conn, line)
    except OSError:
        pass

sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen(128)
while True:
    conn, _ = sk.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
