"""BUGGY (tcp-framed): correct framing, but every handler keeps the frame it
is answering in one global variable, "processes" it for a moment, then sends
it — by then it may hold another client's frame (cross-talk)."""
import socket, struct, sys, threading, time

frame = b""   # BUG: shared by every connection

def recv_exactly(conn, size):
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data

def handle(conn):
    global frame
    with conn:
        try:
            while True:
                header = recv_exactly(conn, 4)
                frame = header + recv_exactly(conn, struct.unpack("!I", header)[0])
                time.sleep(0.002)   # "processing" the frame
                conn.sendall(frame)
        except ConnectionError:
            pass

sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen(128)
while True:
    conn, _ = sk.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
