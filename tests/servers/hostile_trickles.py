"""HOSTILE: echoes correctly but one byte every 0.3 s, so some byte always moves
within the reply timeout and only a deadline on the whole check ends it."""
import socket, sys, threading, time

def handle(conn):
    with conn:
        try:
            while data := conn.recv(65536):
                for i in range(len(data)):
                    conn.sendall(data[i:i + 1])
                    time.sleep(0.3)
        except OSError:
            pass

sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen()
while True:
    conn, _ = sk.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
