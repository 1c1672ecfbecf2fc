"""SLOW (correct but slow) tcp-echo / tcp-framed server: small reads and a 2 ms
pause before each echo. Passes every echo check; the speed suite reports its
ratios to the reference well below 1."""
import socket, sys, threading, time

def handle(conn):
    with conn:
        while data := conn.recv(1024):
            time.sleep(0.002)
            conn.sendall(data)

sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen(128)
while True:
    conn, _ = sk.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
