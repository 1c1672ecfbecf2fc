"""GOOD echo server that floods stdout and stderr (about 200 MB) while serving."""
import socket, sys, threading

def flood():
    line = "x" * 1000 + "\n"
    for _ in range(100_000):
        sys.stdout.write(line)
        sys.stderr.write(line)

def handle(conn):
    with conn:
        while data := conn.recv(65536):
            conn.sendall(data)

sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen()
threading.Thread(target=flood, daemon=True).start()
while True:
    conn, _ = sk.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
