"""BUGGY tcp-file: reads files in text mode (newline translation turns \\r\\n and
\\r into \\n) while the header announces the size on disk. Fails the binary
checks only: conversation::binary_file and conversation::large_file."""
import hashlib, json, os, socket, struct, sys, threading

ROOT = os.path.realpath(".")

def reply(conn, fields, body=b""):
    data = json.dumps(fields).encode()
    conn.sendall(struct.pack("!I", len(data)) + data + body)

def handle(conn):
    with conn, conn.makefile("rb") as lines:
        for line in lines:
            name = line.rstrip(b"\n")[4:].decode()
            path = os.path.realpath(name)
            if os.path.commonpath([ROOT, path]) != ROOT or not os.path.isfile(path):
                reply(conn, {"error": "no such file"})
                continue
            size = os.path.getsize(path)
            with open(path, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            with open(path, encoding="latin-1") as f:  # the bug: text mode
                body = f.read().encode("latin-1")
            reply(conn, {"name": name, "size": size, "sha256": digest}, body)

sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen(128)
while True:
    conn, _ = sk.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
