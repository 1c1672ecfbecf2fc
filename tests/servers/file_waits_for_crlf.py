"""BUGGY tcp-file: waits for requests ending in \\r\\n (as a Windows telnet
client sends them); the protocol's requests end in \\n alone, so it never
answers any. Every download check fails; after the first whole reply
timeout of silence the harness cuts its later waits."""
import socket, sys, threading

def handle(conn):
    buffer = b""
    with conn:
        while data := conn.recv(65536):
            buffer += data
            while b"\r\n" in buffer:  # never true for the protocol's requests
                line, buffer = buffer.split(b"\r\n", 1)
                conn.sendall(b"\x00\x00\x00\x19" + b'{"error": "no such file"}')

sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen(128)
while True:
    conn, _ = sk.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
