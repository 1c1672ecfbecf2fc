"""HOSTILE (blind 18, A4): a tcp-file server whose every reply header carries the JSON escape "\\ud800" (a lone
surrogate once decoded), then 10 of its 1,000 announced body bytes, then silence. The failure message quoted
the header, and the terminal line and the JSON report could not encode it: no report, exit 1 (not a grade)."""
import socket
import sys
import threading

HEADER = b'{"name": "x", "size": 1000, "sha256": "00", "note": "\\ud800"}'


def serve(conn):
    with conn:
        try:
            while conn.recv(65536):
                conn.sendall(len(HEADER).to_bytes(4, "big") + HEADER + b"0123456789")
        except OSError:
            pass


listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listen(64)
while True:
    conn, _ = listener.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
