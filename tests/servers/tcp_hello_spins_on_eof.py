"""BUGGY tcp-hello: leaves its loop only on `exit`, never on recv()
returning b''. A client that simply closes (no `exit`) leaves its thread
spinning on the closed connection for ever. Every conversation is right;
only concurrency::idle_without_busy_loop fails."""
import socket, sys, threading

def handle(conn):
    conn.sendall(b"Welcome!\n")
    buffer = b""
    while True:
        buffer += conn.recv(65536)  # the bug: b'' (the client left) is never looked at
        while b"\n" in buffer:
            name, buffer = buffer.split(b"\n", 1)
            if name == b"exit":
                conn.close()
                return
            try:
                conn.sendall(b"Hello, " + name + b"!\n")
            except OSError:
                pass

sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen(128)
while True:
    conn, _ = sk.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
