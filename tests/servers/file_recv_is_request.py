"""BUGGY tcp-file: takes each recv(1024) as one request (the 粘包 mistake).
Fails framing::pipelined_requests and framing::split_request only."""
import hashlib, json, os, socket, struct, sys, threading

ROOT = os.path.realpath(".")

def reply(conn, fields, body=b""):
    data = json.dumps(fields).encode()
    conn.sendall(struct.pack("!I", len(data)) + data + body)

def handle(conn):
    with conn:
        while data := conn.recv(1024):
            name = data.decode(errors="replace").strip()[4:]
            path = os.path.realpath(name)
            if os.path.commonpath([ROOT, path]) != ROOT or not os.path.isfile(path):
                reply(conn, {"error": "no such file"})
                continue
            body = open(path, "rb").read()
            reply(conn, {"name": name, "size": len(body), "sha256": hashlib.sha256(body).hexdigest()}, body)

sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen(128)
while True:
    conn, _ = sk.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
