"""HOSTILE: daemonizes (double fork + setsid) and re-executes itself with an
EMPTY environment, so neither the process tree nor an environment token leads
to the daemon. It echoes on the port it was given; argv[2] is a nonce the test
uses to find it. Bounded by design: the daemon exits on its own after 120 s."""
import os, socket, sys, threading, time

port, nonce = sys.argv[1], sys.argv[2]
if len(sys.argv) < 4:
    if os.fork():
        os._exit(0)
    os.setsid()
    if os.fork():
        os._exit(0)
    os.execve(sys.executable, [sys.executable, "-u", os.path.abspath(__file__), port, nonce, "daemon"], {})

threading.Timer(120, lambda: os._exit(0)).start()

def handle(conn):
    with conn:
        while data := conn.recv(65536):
            conn.sendall(data)

sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(port)))
sk.listen()
while True:
    conn, _ = sk.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
