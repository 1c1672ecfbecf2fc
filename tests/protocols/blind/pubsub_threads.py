"""Pub/sub with one thread per client and a lock (correct)."""
import socket, sys, threading

lock = threading.Lock()
topics = {}

def send(conn, text):
    try:
        conn.sendall(text.encode() + b"\n")
    except OSError:
        pass

def drop(conn):
    with lock:
        for t in list(topics):
            topics[t].discard(conn)
            if not topics[t]:
                del topics[t]

def handle(conn):
    f = conn.makefile("rb")
    try:
        for raw in f:
            if not raw.endswith(b"\n"):
                break
            parts = raw.decode("utf-8", "replace").rstrip("\n").split(" ", 2)
            cmd = parts[0]
            if cmd == "SUB" and len(parts) == 2:
                with lock:
                    topics.setdefault(parts[1], set()).add(conn)
                send(conn, "OK")
            elif cmd == "UNSUB" and len(parts) == 2:
                with lock:
                    s = topics.get(parts[1])
                    if s is not None:
                        s.discard(conn)
                        if not s:
                            del topics[parts[1]]
                send(conn, "OK")
            elif cmd == "PUB" and len(parts) == 3:
                with lock:
                    subs = list(topics.get(parts[1], ()))
                for c in subs:
                    send(c, "MSG %s %s" % (parts[1], parts[2]))
                send(conn, "SENT %d" % len(subs))
            elif cmd == "HELP" and len(parts) == 1:
                send(conn, "COMMANDS SUB UNSUB PUB HELP VERSION QUIT")
            elif cmd == "VERSION" and len(parts) == 1:
                send(conn, "pubsub 1.2")
            elif cmd == "QUIT" and len(parts) == 1:
                drop(conn)
                send(conn, "BYE")
                break
            else:
                send(conn, "ERR unknown command " + cmd)
    except OSError:
        pass
    finally:
        drop(conn)
        f.close()
        conn.close()

def main():
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", int(sys.argv[1])))
    srv.listen(128)
    try:
        while True:
            c, _ = srv.accept()
            threading.Thread(target=handle, args=(c,), daemon=True).start()
    except KeyboardInterrupt:
        pass

main()
