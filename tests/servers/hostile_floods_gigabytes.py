"""HOSTILE (but correct) echo server: writes gigabytes to stdout and stderr while serving.

Bounded by design: stops after 4 GiB per stream (the harness keeps only a capped file).
"""
import socket, sys, threading

CHUNK = b"x" * (1 << 20)

def flood(stream):
    for _ in range(4096):  # 4 GiB
        try:
            stream.write(CHUNK)
        except OSError:
            return

def handle(conn):
    with conn:
        while data := conn.recv(65536):
            conn.sendall(data)

sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen()
for stream in (sys.stdout.buffer, sys.stderr.buffer):
    threading.Thread(target=flood, args=(stream,), daemon=True).start()
while True:
    conn, _ = sk.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
