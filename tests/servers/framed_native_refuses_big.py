"""BUGGY tcp-framed: reads the length header in the machine's byte order ('<I' on x86 and ARM, the seeds'
struct 'i'), and refuses any frame over 16 MiB: it prints the length it read and closes the connection with the
frame unread (a reset). Nothing on the wire shows the byte order; its output does ("frame too big: 318767104"
is 19 read the other way round), and the first failure must say so."""
import socket, struct, sys, threading


def recv_exactly(conn, size):
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def handle(conn):
    with conn:
        while (header := recv_exactly(conn, 4)) is not None:
            (length,) = struct.unpack("<I", header)  # the bug: '!I' is the protocol's order
            if length > 16 * 1024 * 1024:
                print("frame too big:", length, flush=True)
                return
            payload = recv_exactly(conn, length)
            if payload is None:
                return
            conn.sendall(struct.pack("<I", length) + payload)


sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen()
while True:
    conn, _ = sk.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
