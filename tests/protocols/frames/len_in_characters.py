"""BUGGY echo-text server (echo_text.toml): its reply header holds len(text), the characters, not the UTF-8 bytes
it sends — the header of "café ☕ naïve" says 12 for 16 bytes, and the 4 bytes left over start the next frame."""
import socket, struct, sys, threading


def recv_exactly(conn, size):
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def serve(conn):
    with conn:
        while (header := recv_exactly(conn, 4)) is not None:
            payload = recv_exactly(conn, struct.unpack("!I", header)[0])
            if payload is None:
                return
            text = payload.decode("utf-8")
            conn.sendall(struct.pack("!I", len(text)) + text.encode("utf-8"))  # the bug: len(text)


listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listen(64)
try:
    while True:
        threading.Thread(target=serve, args=(listener.accept()[0],), daemon=True).start()
except KeyboardInterrupt:
    pass
