"""CORRECT counter server (counter.toml): one count per name, threads, a lock."""
import socket, sys, threading

counts: dict[bytes, int] = {}
lock = threading.Lock()


def serve(conn):
    with conn, conn.makefile("rb") as lines:
        try:
            for line in lines:
                command, _, name = line.strip().partition(b" ")
                if command == b"DEL":
                    with lock:
                        counts.pop(name, None)
                    conn.sendall(b"DELETED %s\n" % name)
                    continue
                with lock:
                    counts[name] = counts.get(name, 0) + 1
                    count = counts[name]
                conn.sendall(b"COUNT %s %d\n" % (name, count))
        except OSError:
            pass


listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listen(128)
try:
    while True:
        threading.Thread(target=serve, args=(listener.accept()[0],), daemon=True).start()
except KeyboardInterrupt:
    pass
