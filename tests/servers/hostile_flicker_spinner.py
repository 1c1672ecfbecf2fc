"""HOSTILE (blind 18, A2): a correct echo server whose busy loop hides from the idle check.

A manager process forks children that each burn 4 ms of CPU and exit, and reaps
them, one after another: a child lives between two of the check's looks and is
never seen alive. Its CPU time goes to the manager's reaped-children time.
Bounded: the manager stops with the server, or after 120 s.
"""
import os, socket, sys, threading, time

MAIN = os.getpid()


def manager():
    end = time.monotonic() + 120
    while time.monotonic() < end:
        try:
            os.kill(MAIN, 0)
        except OSError:
            break
        child = os.fork()
        if child == 0:
            spent = time.process_time()
            while time.process_time() - spent < 0.004:
                pass
            os._exit(0)
        os.waitpid(child, 0)
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
if os.fork() == 0:
    listener.close()
    manager()
while True:
    conn, _ = listener.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
