"""HOSTILE (blind 18, A5): a correct echo server that does not shut down. On SIGINT/SIGTERM its main
process exits, leaving a survivor that ignores the signals and lives on as a chain: each generation forks
the next and exits at once, so a scan of /proc (listing, then reading each process) now and then finds
nothing. The check needed a single empty scan. Bounded: the chain ends by itself after 8 s."""
import os, signal, socket, sys, threading, time


def chain():
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        signal.signal(getattr(signal, name), signal.SIG_IGN)
    end = time.monotonic() + 8
    while time.monotonic() < end:
        try:
            if os.fork():
                os._exit(0)  # the parent leaves at once; its child carries on
        except OSError:
            time.sleep(0.001)
    os._exit(0)


def on_signal(signum, frame):
    if os.fork() == 0:
        chain()
    os._exit(0)


def serve(conn):
    with conn:
        try:
            while data := conn.recv(65536):
                conn.sendall(data)
        except OSError:
            pass


listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listen(64)
signal.signal(signal.SIGINT, on_signal)
signal.signal(signal.SIGTERM, on_signal)
while True:
    conn, _ = listener.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
