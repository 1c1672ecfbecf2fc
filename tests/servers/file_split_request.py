"""BUGGY tcp-file: parses each request with line.split() and wants exactly
two words, so a file whose name holds a space ('my notes.txt') is answered
as missing. Everything else is right; only conversation::non_ascii_file_name
fails."""
import hashlib, json, os, socket, struct, sys, threading

ROOT = os.path.realpath(".")

def reply(conn, fields, body=b""):
    data = json.dumps(fields, ensure_ascii=False).encode()
    conn.sendall(struct.pack("!I", len(data)) + data + body)

def serve(conn, line):
    parts = line.decode("utf-8", "replace").split()  # the bug: NAME is the rest of the line
    if len(parts) != 2 or parts[0] != "get":
        return reply(conn, {"error": "bad request"})
    name = parts[1]
    path = os.path.realpath(name)
    if os.path.commonpath([ROOT, path]) != ROOT or not os.path.isfile(path):
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
