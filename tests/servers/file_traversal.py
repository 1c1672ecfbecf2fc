"""BUGGY tcp-file: opens whatever NAME says, so ../x and /abs/path escape the
directory (path traversal). Fails conversation::path_traversal only."""
import hashlib, json, os, socket, struct, sys, threading

def header(conn, fields, body=b""):
    data = json.dumps(fields).encode()
    conn.sendall(struct.pack("!I", len(data)) + data + body)

def handle(conn):
    with conn, conn.makefile("rb") as lines:
        for line in lines:
            name = line.rstrip(b"\n")[4:].decode()
            if not os.path.isfile(name):  # no check that NAME stays inside the directory
                header(conn, {"error": "not found"})
                continue
            body = open(name, "rb").read()
            header(conn, {"name": name, "size": len(body), "sha256": hashlib.sha256(body).hexdigest()}, body)

sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen(128)
while True:
    conn, _ = sk.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
