"""BUGGY tcp-file: closes the connection after one reply (one download per
connection). Fails the checks that make several requests on one connection."""
import hashlib, json, os, socket, struct, sys, threading

ROOT = os.path.realpath(".")

def reply(conn, fields, body=b""):
    data = json.dumps(fields).encode()
    conn.sendall(struct.pack("!I", len(data)) + data + body)

def handle(conn):
    with conn, conn.makefile("rb") as lines:
        name = lines.readline().rstrip(b"\n")[4:].decode()
        path = os.path.realpath(name)
        if os.path.commonpath([ROOT, path]) != ROOT or not os.path.isfile(path):
            return reply(conn, {"error": "no such file"})
        body = open(path, "rb").read()
        reply(conn, {"name": name, "size": len(body), "sha256": hashlib.sha256(body).hexdigest()}, body)

sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen(128)
while True:
    conn, _ = sk.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
