"""BUGGY (blind tester 11): a thread per client that echoes what one big recv() returned
with send() on a socket with a timeout. send() then takes only what fits in the send
buffer and returns how many bytes it took; the rest is dropped. While the client reads
as it sends, the buffer never fills and every check passes — until a client reads late
(echo::client_reads_late)."""
import socket
import sys
import threading


def handle(conn: socket.socket) -> None:
    conn.settimeout(30)
    with conn:
        while data := conn.recv(4 * 1024 * 1024):
            conn.send(data)  # BUG: sendall()


listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listen(100)
while True:
    conn, _ = listener.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
