"""GOOD echo server that daemonizes: double fork + setsid; the original parent exits."""
import os, socket, sys, threading

port = int(sys.argv[1])
if os.fork():
    os._exit(0)
os.setsid()
if os.fork():
    os._exit(0)

def handle(conn):
    with conn:
        while data := conn.recv(65536):
            conn.sendall(data)

sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", port))
sk.listen()
while True:
    conn, _ = sk.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
