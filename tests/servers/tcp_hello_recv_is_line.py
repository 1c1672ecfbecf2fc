"""BUGGY tcp-hello: takes each recv() as one line (strip() and reply). Fails when
lines coalesce or arrive in pieces, and cuts long lines into many replies."""
import socket, sys, threading

def handle(conn):
    with conn:
        conn.sendall(b"Welcome!\n")
        while data := conn.recv(1024):
            name = data.decode("utf-8", errors="replace").strip("\n")
            if name == "exit":
                break
            conn.sendall(f"Hello, {name}!\n".encode())

sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen(128)
while True:
    conn, _ = sk.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
