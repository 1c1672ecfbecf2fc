"""BUGGY tcp-file: a missing file closes the connection instead of answering
with an error header. Fails conversation::missing_file only."""
import hashlib, json, os, socket, struct, sys, threading

ROOT = os.path.realpath(".")

def handle(conn):
    with conn, conn.makefile("rb") as lines:
        for line in lines:
            name = line.rstrip(b"\n")[4:].decode()
            path = os.path.realpath(name)
            if os.path.commonpath([ROOT, path]) != ROOT:
                data = json.dumps({"error": "refused"}).encode()
                conn.sendall(struct.pack("!I", len(data)) + data)
                continue
            if not os.path.isfile(path):
                return  # the bug: the client is left guessing
            body = open(path, "rb").read()
            data = json.dumps({"name": name, "size": len(body), "sha256": hashlib.sha256(body).hexdigest()}).encode()
            conn.sendall(struct.pack("!I", len(data)) + data + body)

sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen(128)
while True:
    conn, _ = sk.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
