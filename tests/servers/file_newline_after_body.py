"""BUGGY tcp-file: sends a newline after every file's body (a habit from
line protocols). A client that reads one reply sees nothing wrong; the next
reply on the same connection starts with that b'\\n', so its length field
reads as 0a 00 00 00 (167,772,160). Only the checks with several requests
on one connection fail."""
import hashlib, json, os, socket, struct, sys, threading

ROOT = os.path.realpath(".")

def reply(conn, fields, body=b""):
    data = json.dumps(fields, ensure_ascii=False).encode()
    conn.sendall(struct.pack("!I", len(data)) + data + body + (b"\n" if "size" in fields else b""))  # the bug

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
    with conn:
        try:
            while data := conn.recv(65536):
                buffer += data
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    serve(conn, line)
        except OSError:
            pass

sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen(128)
while True:
    conn, _ = sk.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
