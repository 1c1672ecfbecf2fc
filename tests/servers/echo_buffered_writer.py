"""BUGGY (blind 17 F7, in Python): reads promptly, but writes each echo to a buffered stream it never flushes
(conn.makefile('wb') without flush()): every reply waits in the buffer until the connection closes, as a C
server's FILE* stream or a Perl socket without $| = 1 does."""
import socket
import sys
import threading


def serve(conn):
    with conn:
        writer = conn.makefile("wb", buffering=1 << 20)
        try:
            while data := conn.recv(65536):
                writer.write(data)  # BUG: no writer.flush()
            writer.close()
        except OSError:
            pass


listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listen(64)
while True:
    conn, _ = listener.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
