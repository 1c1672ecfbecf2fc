"""BUGGY tcp-hello: decodes names as Latin-1 but encodes replies as UTF-8 (mojibake).
Fails conversation::non_ascii_name only."""
import socket, sys, threading

def handle(conn):
    with conn, conn.makefile("rb") as lines:
        conn.sendall(b"Welcome!\n")
        for line in lines:
            name = line.rstrip(b"\n").decode("latin-1")
            if name == "exit":
                break
            conn.sendall(f"Hello, {name}!\n".encode("utf-8"))

sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen(128)
while True:
    conn, _ = sk.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
