"""CORRECT trio server (tests/protocols/trio/trio.toml): a reader thread and a writer thread (with a queue) per
client, as chat servers are written. The protocol file's crowd holds 150 clients: 300 threads, each with an
8 MiB stack reserved."""
import queue, socket, sys, threading


def serve(conn):
    outbox = queue.Queue()

    def write():
        while (line := outbox.get()) is not None:
            try:
                conn.sendall(line)
            except OSError:
                return

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        with conn, conn.makefile("rb") as lines:
            for line in lines:
                if line.startswith(b"HI "):
                    outbox.put(b"HELLO " + line[3:])
    except OSError:
        pass
    finally:
        outbox.put(None)


listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listen(256)
try:
    while True:
        threading.Thread(target=serve, args=(listener.accept()[0],), daemon=True).start()
except KeyboardInterrupt:
    pass
