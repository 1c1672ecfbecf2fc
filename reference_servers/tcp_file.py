"""A correct tcp-file server (the seeds' file downloader), written to be read and learned from.

Run:  python tcp_file.py [PORT] [HOST]     (or set $PORT / $HOST)
Serves the files of its working directory.

Protocol: the client sends lines  b"get NAME\\n". For each, the server sends a
4-byte big-endian length (struct "!I"), then that many bytes of UTF-8 JSON
header, then the file:
    {"name": NAME, "size": N, "sha256": HEX}  followed by exactly N bytes, or
    {"error": "why"}                          followed by nothing.

What makes it correct, and what students often miss:
- Requests are lines on a byte stream: two may arrive in one recv(), one may
  take several. Keep a buffer and cut complete lines at b"\\n" (粘包 again).
- The length header (seed 002's struct trick) tells the client where the JSON
  ends and the file begins; the size in the JSON tells where the file ends, so
  many downloads can follow each other on one connection.
- Never trust NAME: `../x`, `/etc/passwd` or `a/../../x` would escape the
  directory. Resolve the path and refuse anything not strictly inside it.
- Open files in binary mode ("rb"): text mode changes line endings and fails
  on bytes that are not valid text.
- Stream big files in blocks with sendall(): a 50 MiB file is never read into
  memory at once, and one thread per client means a client that reads slowly
  only ever blocks its own thread.
- A missing file is the client's mistake, not a reason to close: answer with
  an error header and keep the connection for the next request.
"""

import hashlib
import json
import os
import signal
import socket
import struct
import sys
import threading

BLOCK = 256 * 1024
ROOT = os.path.realpath(os.getcwd())


def send_header(conn: socket.socket, header: dict, first_block: bytes = b"") -> None:
    """Length, header and the file's first block in one sendall(): two small
    writes in a row would wait for the client's delayed ACK (Nagle), ~40 ms."""
    data = json.dumps(header, ensure_ascii=False).encode("utf-8")
    conn.sendall(struct.pack("!I", len(data)) + data + first_block)


def resolve(name: str):
    """The real path of NAME if it is a file strictly inside ROOT, else None."""
    path = os.path.realpath(os.path.join(ROOT, name))  # an absolute NAME replaces ROOT: caught below
    if os.path.commonpath([ROOT, path]) != ROOT or path == ROOT or not os.path.isfile(path):
        return None
    return path


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(BLOCK):
            digest.update(block)
    return digest.hexdigest()


def serve_request(conn: socket.socket, line: bytes) -> None:
    command, _, raw_name = line.partition(b" ")
    try:
        name = raw_name.decode("utf-8")
    except UnicodeDecodeError:
        return send_header(conn, {"error": "the name is not UTF-8"})
    if command != b"get" or not name:
        return send_header(conn, {"error": "expected: get NAME"})
    path = resolve(name)
    if path is None:
        return send_header(conn, {"error": f"no such file: {name}"})
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        first_block = f.read(min(BLOCK, size))
        send_header(conn, {"name": name, "size": size, "sha256": sha256_of(path)}, first_block)
        remaining = size - len(first_block)
        while remaining and (block := f.read(min(BLOCK, remaining))):
            conn.sendall(block)
            remaining -= len(block)


def handle_client(conn: socket.socket) -> None:
    buffer = bytearray()
    with conn:
        try:
            while data := conn.recv(65536):
                buffer += data
                while (end := buffer.find(b"\n")) >= 0:
                    line = bytes(buffer[:end])
                    del buffer[: end + 1]
                    serve_request(conn, line)
        except (ConnectionResetError, BrokenPipeError):
            pass  # the client went away mid-download: only this thread ends


def serve(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(128)
        print(f"tcp file server listening on {host}:{port}, serving {ROOT}", flush=True)
        while True:
            conn, _ = listener.accept()
            threading.Thread(target=handle_client, args=(conn,), daemon=True).start()


def stop(signum, frame) -> None:
    """Turn SIGTERM into a clean exit, like Ctrl+C (SIGINT)."""
    raise SystemExit(0)


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ.get("PORT", "9000"))
    host = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("HOST", "127.0.0.1")
    signal.signal(signal.SIGTERM, stop)
    try:
        serve(host, port)
    except KeyboardInterrupt:
        pass
    print("tcp file server stopped", flush=True)
