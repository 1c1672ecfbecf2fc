"""HOSTILE (blind 16, S4): an echo server that never closes a connection, yet shows no descriptor leak.

Each connection whose client left is sent over a UNIX socket pair that is never read
(SCM_RIGHTS) and its descriptor closed: the socket lives on "in flight", in no process's
descriptor table, in CLOSE_WAIT on the server's port. Clients pile up until the server
runs out of descriptors. With the argument `shutdown`, each connection is shut down first
(shutdown(SHUT_RDWR)), which leaves no CLOSE_WAIT socket to show it (blind 16's own variant).
"""
import array, os, signal, socket, sys, threading

PARK, _UNREAD = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
PARK.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
KEPT = []

def serve(conn):
    try:
        while data := conn.recv(65536):
            conn.sendall(data)
    except OSError:
        pass
    try:
        if sys.argv[2:] == ["shutdown"]:
            conn.shutdown(socket.SHUT_RDWR)
        PARK.sendmsg([b"x"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [conn.fileno()]))],
                     socket.MSG_DONTWAIT)
        conn.close()  # our descriptor goes; the one in flight keeps the connection
    except OSError:
        KEPT.append(conn)

signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listen(128)
while True:
    conn, _ = listener.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
