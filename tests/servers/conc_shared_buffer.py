"""BUGGY: one global buffer for every client (cross-talk). Each handler puts
what it received into the shared buffer, "processes" it for a moment, then
sends the buffer back — by then another client's bytes may be in it."""
import socket, sys, threading, time

buffer = b""   # BUG: shared by every connection

def handle(conn):
    global buffer
    with conn:
        try:
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                buffer = data
                time.sleep(0.002)   # "processing" the message
                conn.sendall(buffer)
        except ConnectionError:
            pass

sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen(128)
while True:
    conn, _ = sk.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
