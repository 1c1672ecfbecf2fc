"""BUGGY (seed style): serves one client at a time — the recv() loop is nested
in the accept() loop, so a second client waits until the first one leaves.
Otherwise correct: echoes every byte, closes on b'', survives a reset."""
import socket, sys

sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen(5)   # the tutorials' backlog
while True:
    conn, addr = sk.accept()
    try:
        while True:
            data = conn.recv(65536)
            if not data:
                break
            conn.sendall(data)
    except ConnectionError:
        pass
    conn.close()
