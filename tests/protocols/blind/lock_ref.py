"""Reference lock server: one thread per client, lines read whole; a connection's locks go when it closes."""
import socket, sys, threading

locks = {}
guard = threading.Lock()


def answer(conn, line):
    words = line.split()
    if words[:1] == ["PING"]:
        return "PONG"
    if len(words) == 2 and words[0] == "LOCK":
        with guard:
            if locks.setdefault(words[1], conn) is conn:
                return "OK"
        return "BUSY"
    return "ERR unknown command"


def release(conn):
    with guard:
        for name in [name for name, holder in locks.items() if holder is conn]:
            del locks[name]


def handle(conn):
    try:
        for line in conn.makefile("rb"):
            conn.sendall(answer(conn, line.decode(errors="replace").strip()).encode() + b"\n")
    except OSError:
        pass
    finally:  # the locks go before the connection closes: a client that saw the close finds them free
        release(conn)
        conn.close()


def main():
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", int(sys.argv[1])))
    server.listen(16)
    while True:
        conn, _ = server.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


main()
