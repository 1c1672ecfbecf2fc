"""BUGGY tcp-hello (line mode): greets with b'Welcome!' and forgets the line
ending; every reply after it is a right line. A line-mode client waits for
the greeting's \\n. The fix is the missing b'\\n', not --hello-mode unframed."""
import socket, sys, threading

def handle(conn):
    with conn:
        conn.sendall(b"Welcome!")  # the bug: no b"\n"
        buffer = b""
        while data := conn.recv(65536):
            buffer += data
            while b"\n" in buffer:
                name, buffer = buffer.split(b"\n", 1)
                if name == b"exit":
                    return
                conn.sendall(b"Hello, " + name + b"!\n")

sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen(128)
while True:
    conn, _ = sk.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
