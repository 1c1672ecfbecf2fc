"""BUGGY: assumes one recv() is one whole frame.

It parses each recv() as header + payload and drops whatever else came with
it (frames coalesced in one segment), and a frame that arrives in pieces
makes struct.unpack raise (the thread dies, the connection closes). Whole
frames sent one at a time work, which is why this bug survives a quick test.
"""
import socket, struct, sys, threading

def handle(conn):
    with conn:
        while data := conn.recv(65536):
            (length,) = struct.unpack("!I", data[:4])  # struct.error if fewer than 4 bytes came
            payload = data[4:4 + length]  # the rest of `data` (further frames) is lost
            conn.sendall(struct.pack("!I", len(payload)) + payload)

sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen()
while True:
    conn, _ = sk.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
