"""BUGGY tcp-framed: every connection's thread appends what it receives to
one module-level buffer and cuts frames out of it. One client at a time
works; a client that stalls mid-frame leaves half a frame in the shared
buffer, and the next client's bytes complete it: the second client is
answered with the first client's bytes."""
import socket, struct, sys, threading

buffer = bytearray()  # the bug: one buffer for all connections
lock = threading.Lock()

def handle(conn):
    with conn:
        while data := conn.recv(65536):
            with lock:
                buffer.extend(data)
                frames = []
                while len(buffer) >= 4:
                    (length,) = struct.unpack("!I", buffer[:4])
                    if len(buffer) < 4 + length:
                        break
                    frames.append(bytes(buffer[4:4 + length]))
                    del buffer[:4 + length]
            for frame in frames:
                conn.sendall(struct.pack("!I", len(frame)) + frame)

sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen(128)
while True:
    conn, _ = sk.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
