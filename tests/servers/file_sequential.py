"""BUGGY tcp-file: no threads: one connection at a time, until it closes.
Fails the concurrency checks only (concurrent downloads, slow reader)."""
import hashlib, json, os, socket, struct, sys

ROOT = os.path.realpath(".")

def reply(conn, fields, body=b""):
    data = json.dumps(fields).encode()
    conn.sendall(struct.pack("!I", len(data)) + data + body)

sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen(128)
while True:
    conn, _ = sk.accept()
    try:
        with conn, conn.makefile("rb") as lines:
            for line in lines:
                name = line.rstrip(b"\n")[4:].decode()
                path = os.path.realpath(name)
                if os.path.commonpath([ROOT, path]) != ROOT or not os.path.isfile(path):
                    reply(conn, {"error": "no such file"})
                    continue
                body = open(path, "rb").read()
                reply(conn, {"name": name, "size": len(body), "sha256": hashlib.sha256(body).hexdigest()}, body)
    except OSError:
        pass
